"""The idempotency records of API writes: responses kept for 30 days, keys for good."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from core.batch import execute_limited
from core.clock import resolve_now
from members.services.batch import batch_in_chunks, batch_run

_EXPIRE_RESPONSES_SQL = """
UPDATE loyalty_idempotencyrecord SET response_body = NULL, response_expired_at = %(now)s
WHERE id IN (SELECT id FROM loyalty_idempotencyrecord
             WHERE state = 'done' AND response_expired_at IS NULL
               AND completed_at < %(cutoff)s
             ORDER BY completed_at LIMIT %(limit)s
             FOR UPDATE SKIP LOCKED)
"""


def idempotency_responses_expire(*, now: datetime | None = None, days: int | None = None,
                                 chunk: int = 5000, run_key: str | None = None) -> int:
    """The daily job: remove the stored responses (personal data) of keys used more than
    `days` (settings.IDEMPOTENCY_RESPONSE_DAYS) ago, a chunk per statement; the key, the
    request hash and the status stay, so a late replay is answered and never run again.
    Returns the responses removed by the run."""
    days = settings.IDEMPOTENCY_RESPONSE_DAYS if days is None else days
    progress = batch_run("idempotency.expire_responses", run_key=run_key, now=resolve_now(now))
    params = {"now": progress.now, "cutoff": progress.now - timedelta(days=days)}
    return batch_in_chunks(progress, lambda: execute_limited(
        _EXPIRE_RESPONSES_SQL, params, chunk=chunk), chunk=chunk)
