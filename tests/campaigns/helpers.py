"""The feed's horizon is the database server's oldest running transaction — in any
database on it, so other work on a shared server can hold it back for a moment. Tests
wait for it rather than assume it."""

from __future__ import annotations

import time

from django.db import connection

from campaigns.selectors.feed import FeedPosition, FeedRow, feed_horizon, feed_read


def feed_settle(timeout: float = 300) -> None:
    """Wait until every transaction that has begun by now has ended (on a server shared
    with other test runs that can take minutes; on a server of its own, milliseconds)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
        upto = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while feed_horizon().txid < upto:
        assert time.monotonic() < deadline, "a transaction on the server stayed open"
        time.sleep(0.02)


def settled_read(source: str, after: FeedPosition, limit: int = 10_000) -> list[FeedRow]:
    feed_settle()
    return feed_read(source=source, after=after, limit=limit)
