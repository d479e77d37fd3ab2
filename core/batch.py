"""Batch statements over chunks: the shape every set-based job shares."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction


def execute_limited(sql: str, params: dict[str, Any], *, chunk: int) -> int:
    """Run `sql` — a statement that acts on at most %(limit)s rows — once, in the caller's
    transaction; return the rows it acted on."""
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "limit": chunk})
        return cursor.rowcount


def run_in_chunks(sql: str, params: dict[str, Any], *, chunk: int) -> int:
    """Run `sql` — a statement that acts on at most %(limit)s rows — again and again, each
    run in its own transaction, until a run acts on fewer than `chunk` rows; return the
    rows acted on in all.

    Each chunk commits on its own, so locks are short, a crash loses at most the chunk in
    flight, and running the job again simply carries on (the statement selects what is
    still due, e.g. `WHERE expires_at <= %(now)s … LIMIT %(limit)s`). Batch jobs that keep
    their position between deliveries use `members.services.batch.batch_in_chunks` with
    `execute_limited` instead.
    """
    total = 0
    while True:
        with transaction.atomic():
            count = execute_limited(sql, params, chunk=chunk)
        total += count
        if count < chunk:
            return total
