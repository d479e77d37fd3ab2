"""The idempotency records of API writes: pruned after a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.batch import run_in_chunks
from core.clock import resolve_now


def idempotency_prune(*, older_than: timedelta = timedelta(hours=24),
                      now: datetime | None = None, chunk: int = 5000) -> int:
    """Forget idempotency keys past the retention period, a chunk at a time."""
    return run_in_chunks(
        """DELETE FROM loyalty_idempotencyrecord WHERE id IN (
               SELECT id FROM loyalty_idempotencyrecord WHERE created_at < %(cutoff)s
               ORDER BY id LIMIT %(limit)s)""",
        {"cutoff": resolve_now(now) - older_than}, chunk=chunk)
