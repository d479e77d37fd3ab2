"""Forgetting old batch runs: a run delivered again comes within hours, so a month is ample."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.batch import run_in_chunks
from core.clock import resolve_now


def batch_runs_prune(*, older_than: timedelta = timedelta(days=30),
                     now: datetime | None = None, chunk: int = 5000) -> int:
    """Delete the progress rows of runs started before the retention period, a chunk at a
    time; returns how many."""
    return run_in_chunks(
        """DELETE FROM members_batchrun WHERE id IN (
               SELECT id FROM members_batchrun WHERE started_at < %(cutoff)s
               ORDER BY id LIMIT %(limit)s)""",
        {"cutoff": resolve_now(now) - older_than}, chunk=chunk)
