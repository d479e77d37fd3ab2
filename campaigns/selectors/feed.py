"""The commit-ordered feed: the elements' append-only histories read in commit order.

Each history table a campaign trigger reads carries `txid xid8`, the inserting
transaction's id (a column default, see the `*_feed_txid` migrations of members, points and
tiers). A reader reads the rows after its position in (txid, id) order, but only rows
whose transaction is older than the oldest transaction still running:

    txid < pg_snapshot_xmin(pg_current_snapshot())

Every transaction below that bound has ended, and the statement's own snapshot (the same
one `pg_current_snapshot()` describes) sees the ones that committed. So a row is never
read before it commits, and a transaction that began early and commits late cannot slip
in behind a position already passed: its rows stay above the bound, hence ahead of every
cursor, until it ends. No lock is taken: sales never wait for the reader. (A sequence id
alone cannot do this — ids are handed out at insert and committed in another order — which
is why the liability rollup briefly locks its table; polled every second that lock would
queue every sale.) The price is latency: while one transaction stays open, the feed stops
at it, for every table.

Rows written before the column existed have no txid and are not in the feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection


@dataclass(frozen=True)
class FeedSource:
    """One history table in the feed: its columns handed to readers, and which holds the
    member."""

    name: str
    table: str
    member_column: str
    columns: tuple[str, ...]


SOURCES: dict[str, FeedSource] = {s.name: s for s in (
    # a registration is the member row itself (the intake, imports and COPY loads all insert
    # it); later updates of the row keep the txid of its insert
    FeedSource("members", "members_member", "id",
               ("created_at", "source_channel", "status", "referrer_id")),
    FeedSource("orders", "members_order", "member_id",
               ("kind", "store_id", "order_no", "ordered_at", "net_amount", "original_order_id")),
    FeedSource("tag_changes", "members_tagchange", "member_id",
               ("tag_id", "action", "cause", "changed_at")),
    FeedSource("tier_changes", "tiers_tierchange", "member_id",
               ("from_tier_id", "to_tier_id", "reason", "created_at")),
    FeedSource("paid_purchases", "tiers_paidpurchase", "member_id",
               ("plan_id", "kind", "period_start", "period_end", "created_at")),
    FeedSource("points_lots", "points_pointslot", "member_id",
               ("original", "order_id", "expires_at", "created_at")),
    # the ledger (webhooks: points earned, spent, expired, reversed)
    FeedSource("points_entries", "points_pointsentry", "member_id",
               ("kind", "available_delta", "pending_delta", "order_id", "created_at")),
    # coupon lives (webhooks: coupon issued, redeemed, expired, restored)
    FeedSource("coupon_events", "points_couponevent", "member_id",
               ("coupon_id", "kind", "discount", "created_at")),
    # profile updates (field names only) and status changes (webhooks: member updated, closed)
    FeedSource("member_changes", "members_memberchange", "member_id",
               ("kind", "fields", "created_at")),
    # the daily notice of points expiring on a day (webhooks: points expiring soon)
    FeedSource("expiry_notices", "points_expirynotice", "member_id",
               ("expires_on", "points", "created_at")),
    # a redemption's steps (webhooks: reward redeemed, fulfilled, cancelled)
    FeedSource("redemption_changes", "points_redemptionchange", "member_id",
               ("redemption_id", "step", "state", "created_at")),
    # grants, when inserted (webhooks: benefit granted)
    FeedSource("benefit_grants", "tiers_benefitgrant", "member_id",
               ("benefit_id", "period", "tier_id", "plan_id", "quantity", "granted_at",
                "expires_at")),
    # lapses of paid memberships (webhooks: paid membership lapsed)
    FeedSource("paid_lapses", "tiers_paidlapse", "member_id",
               ("plan_id", "ended_at", "created_at")),
    # campaign members, when acted on (webhooks: campaign action applied)
    FeedSource("campaign_actions", "campaigns_campaignmember", "member_id",
               ("campaign_id", "occasion", "variant_id", "acted_at")),
    # check-ins (campaign trigger: streak reached)
    FeedSource("checkins", "campaigns_checkin", "member_id",
               ("day", "kind", "streak", "cycle_day", "created_at")),
)}


@dataclass(frozen=True)
class FeedPosition:
    """A place in one table's feed: after the row (txid, id). (0, 0) is the beginning."""

    txid: int
    id: int


@dataclass(frozen=True)
class FeedRow:
    source: str
    txid: int
    id: int
    member_id: int
    values: dict[str, Any]

    @property
    def position(self) -> FeedPosition:
        return FeedPosition(self.txid, self.id)


def feed_source(name: str) -> FeedSource:
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"no feed source {name!r}; known: {sorted(SOURCES)}") from None


def feed_read(*, source: str, after: FeedPosition, limit: int = 1000) -> list[FeedRow]:
    """Up to `limit` rows of `source` after `after`, in (txid, id) order, from committed
    transactions only (see the module's docstring). Reads only; the caller keeps the
    position (services.feed)."""
    src = feed_source(source)
    columns = ", ".join(f"t.{c}" for c in src.columns)
    sql = f"""
        SELECT t.txid::text::bigint, t.id, t.{src.member_column}, {columns}
          FROM {src.table} t
         WHERE t.txid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
           AND (t.txid, t.id) > (%s::text::xid8, %s)
         ORDER BY t.txid, t.id
         LIMIT %s"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(after.txid), after.id, limit])
        rows = cursor.fetchall()
    return [FeedRow(source=source, txid=r[0], id=r[1], member_id=r[2],
                    values=dict(zip(src.columns, r[3:], strict=True))) for r in rows]


def feed_horizon() -> FeedPosition:
    """The position just before the oldest running transaction: everything below it has
    ended. A reader that starts here skips the history before it and misses nothing
    after it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return FeedPosition(cursor.fetchone()[0], 0)


def feed_lag(*, source: str, after: FeedPosition) -> dict[str, int]:
    """How far a reader is behind: rows after its position it could read now ("ready"), and
    committed rows it must still wait for because an older transaction is running
    ("waiting"). Rows of running transactions are visible to nobody and not counted."""
    src = feed_source(source)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT count(*) FILTER (WHERE t.txid < h.xmin), count(*) FILTER (WHERE t.txid >= h.xmin)
              FROM {src.table} t, (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) h
             WHERE (t.txid, t.id) > (%s::text::xid8, %s)""", [str(after.txid), after.id])
        ready, waiting = cursor.fetchone()
    return {"ready": ready, "waiting": waiting}
