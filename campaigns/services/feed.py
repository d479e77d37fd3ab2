"""Readers of the commit-ordered feed keep their place in a `FeedCursor` row.

A batch is read, handed on and the cursor moved in one transaction: if the handler fails
or the worker dies, the cursor stays and the batch is read again — handlers are idempotent
(campaign actions are UNIQUE per campaign, occasion and member). Two workers polling the
same cursor at once do not both read: the second finds the row locked and skips.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction

from campaigns.models import FeedCursor
from campaigns.selectors.feed import FeedPosition, FeedRow, feed_horizon, feed_read, feed_source
from core.clock import resolve_now


def feed_cursor_open(*, name: str, source: str, from_start: bool = False,
                     now: datetime | None = None) -> FeedCursor:
    """The reader `name` of `source`, created on first use at the feed's horizon: a new
    campaign trigger reacts to what happens from now on, not to the history before it
    (`from_start` reads every row that has a txid). Opening it again changes nothing."""
    now = resolve_now(now)
    feed_source(source)
    start = FeedPosition(0, 0) if from_start else feed_horizon()
    cursor, _created = FeedCursor.objects.get_or_create(
        name=name, defaults={"source": source, "last_txid": start.txid, "last_id": start.id,
                             "updated_at": now})
    if cursor.source != source:
        raise ValueError(f"feed cursor {name!r} reads {cursor.source!r}, not {source!r}")
    return cursor


def feed_consume(*, name: str, handle: Callable[[list[FeedRow]], object],
                 batch: int = 1000, max_batches: int | None = None,
                 now: datetime | None = None) -> int:
    """Hand the rows after cursor `name` to `handle`, `batch` rows at a time, each batch
    with its handling and the cursor's advance in one transaction, until the feed is read
    (or `max_batches`). Returns the rows handed on; 0 when another worker holds the cursor.
    """
    now = resolve_now(now)
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            cursor = (FeedCursor.objects.select_for_update(skip_locked=True)
                      .filter(name=name).first())
            if cursor is None:
                if not FeedCursor.objects.filter(name=name).exists():
                    raise ValueError(f"no feed cursor {name!r}: open it first")
                return total  # another worker is reading it
            rows = feed_read(source=cursor.source,
                             after=FeedPosition(cursor.last_txid, cursor.last_id), limit=batch)
            if not rows:
                return total
            handle(rows)
            cursor.last_txid, cursor.last_id = rows[-1].txid, rows[-1].id
            cursor.rows_read += len(rows)
            cursor.updated_at = now
            cursor.save(update_fields=["last_txid", "last_id", "rows_read", "updated_at"])
        total += len(rows)
        batches += 1
        if len(rows) < batch:
            break
    return total
