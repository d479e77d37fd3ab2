"""The dashboard's nightly job: a Beijing day's figures written into `DashboardFact` with
one INSERT … SELECT per measure, so the home page never reads the ledgers.

A day is rebuilt whole (its rows deleted and written again in one transaction), so running
the job twice, or again after a late sale was booked, leaves one set of rows. Flows are the
day's movements by the store where they happened (`FLOW_SQL`, shared with the live figures
of today in loyalty.selectors.dashboard); stocks — members per tier and lifecycle stage,
outstanding points, paid memberships — are the programme as it stands when the job runs,
by the members' home store, and are written only for the day that has just ended (a stock
cannot be known afterwards for an earlier day)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import connection, transaction

from core.clock import local_date, programme_tz, resolve_now

from ..models import Measure

# Each statement yields (store_id, key, value) for the moments in [%(lo)s, %(hi)s).
FLOW_SQL: dict[str, str] = {
    Measure.NEW_MEMBERS: """
        SELECT home_store_id, source_channel, count(*) FROM members_member
        WHERE created_at >= %(lo)s AND created_at < %(hi)s GROUP BY 1, 2""",
    Measure.SALE_ORDERS: """
        SELECT store_id, '', count(*) FROM members_order
        WHERE kind = 'sale' AND ordered_at >= %(lo)s AND ordered_at < %(hi)s GROUP BY 1""",
    # sales less returns, on the day each was booked
    Measure.NET_SALES: """
        SELECT store_id, '', sum(CASE WHEN kind = 'sale' THEN net_amount ELSE -net_amount END)
        FROM members_order WHERE ordered_at >= %(lo)s AND ordered_at < %(hi)s GROUP BY 1""",
    # earned (pending or available at once) and added by hand
    Measure.POINTS_ISSUED: """
        SELECT store_id, '', sum(available_delta + pending_delta) FROM points_pointsentry
        WHERE created_at >= %(lo)s AND created_at < %(hi)s
          AND (kind = 'earn' OR (kind = 'adjust' AND available_delta > 0)) GROUP BY 1""",
    # spent, directly or by capturing a hold (a hold and its release move nothing out)
    Measure.POINTS_REDEEMED: """
        SELECT store_id, '', -sum(available_delta + held_delta) FROM points_pointsentry
        WHERE created_at >= %(lo)s AND created_at < %(hi)s AND kind IN ('spend', 'capture')
        GROUP BY 1""",
    Measure.POINTS_EXPIRED: """
        SELECT store_id, '', -sum(available_delta + pending_delta) FROM points_pointsentry
        WHERE created_at >= %(lo)s AND created_at < %(hi)s AND kind = 'expire' GROUP BY 1""",
    Measure.COUPONS_ISSUED: """
        SELECT store_id, '', count(*) FROM points_couponevent
        WHERE created_at >= %(lo)s AND created_at < %(hi)s AND kind = 'issued' GROUP BY 1""",
    Measure.COUPONS_USED: """
        SELECT store_id, '', count(*) FROM points_couponevent
        WHERE created_at >= %(lo)s AND created_at < %(hi)s AND kind = 'redeemed' GROUP BY 1""",
    # a move to a higher rank (or onto the ladder), by the member's home store
    Measure.UPGRADES: """
        SELECT m.home_store_id, '', count(*) FROM tiers_tierchange c
        JOIN members_member m ON m.id = c.member_id
        JOIN tiers_tier t ON t.id = c.to_tier_id LEFT JOIN tiers_tier f ON f.id = c.from_tier_id
        WHERE c.created_at >= %(lo)s AND c.created_at < %(hi)s
          AND t.rank > coalesce(f.rank, -1) GROUP BY 1""",
    Measure.DOWNGRADES: """
        SELECT m.home_store_id, '', count(*) FROM tiers_tierchange c
        JOIN members_member m ON m.id = c.member_id
        JOIN tiers_tier f ON f.id = c.from_tier_id LEFT JOIN tiers_tier t ON t.id = c.to_tier_id
        WHERE c.created_at >= %(lo)s AND c.created_at < %(hi)s
          AND coalesce(t.rank, -1) < f.rank GROUP BY 1""",
}

# Each statement yields (store_id, key, value): the programme now, by home store.
STOCK_SQL: dict[str, str] = {
    Measure.MEMBERS: """
        SELECT home_store_id, '', count(*) FROM members_member WHERE status <> 'closed'
        GROUP BY 1""",
    Measure.TIER_MEMBERS: """
        SELECT m.home_store_id, t.code, count(*) FROM tiers_growthaccount g
        JOIN tiers_tier t ON t.id = g.tier_id JOIN members_member m ON m.id = g.member_id
        WHERE m.status <> 'closed' GROUP BY 1, 2""",
    Measure.LIFECYCLE_MEMBERS: """
        SELECT m.home_store_id, s.lifecycle, count(*) FROM members_memberstats s
        JOIN members_member m ON m.id = s.member_id WHERE s.lifecycle <> '' GROUP BY 1, 2""",
    Measure.BUYERS: """
        SELECT m.home_store_id, '', count(*) FROM members_memberstats s
        JOIN members_member m ON m.id = s.member_id GROUP BY 1""",
    Measure.REPEAT_BUYERS: """
        SELECT m.home_store_id, '', count(*) FROM members_memberstats s
        JOIN members_member m ON m.id = s.member_id WHERE s.order_count >= 2 GROUP BY 1""",
    Measure.OUTSTANDING_POINTS: """
        SELECT m.home_store_id, '', sum(a.available + a.pending) FROM points_pointsaccount a
        JOIN members_member m ON m.id = a.member_id GROUP BY 1""",
    Measure.PAID_ACTIVE: """
        SELECT m.home_store_id, '', count(*) FROM tiers_paidmembership p
        JOIN members_member m ON m.id = p.member_id
        WHERE p.status = 'active' AND p.ends_at > %(now)s GROUP BY 1""",
    Measure.PAID_EVER: """
        SELECT m.home_store_id, '', count(*) FROM tiers_paidmembership p
        JOIN members_member m ON m.id = p.member_id GROUP BY 1""",
    Measure.PAID_RENEWED: """
        SELECT m.home_store_id, '', count(*) FROM tiers_paidmembership p
        JOIN members_member m ON m.id = p.member_id WHERE p.purchases >= 2 GROUP BY 1""",
}

INSERT = """
    INSERT INTO loyalty_dashboardfact (day, store_id, measure, key, value)
    SELECT %(day)s, store_id, %(measure)s, coalesce(key, ''), value
    FROM ({select}) AS figures (store_id, key, value) WHERE value <> 0"""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The moments of a Beijing calendar day: [midnight, next midnight)."""
    lo = datetime.combine(day, time.min, tzinfo=programme_tz())
    return lo, lo + timedelta(days=1)


def dashboard_facts_build(*, day: date | None = None, now: datetime | None = None) -> int:
    """Write a day's facts (by default yesterday, Beijing time); returns the rows written.

    The night after 14 March builds 14 March: its new members by channel and store, sales,
    points issued / redeemed / expired, coupons, tier moves; and, being the day just ended,
    the members per tier and stage, outstanding points and paid memberships as they stand."""
    now = resolve_now(now)
    today = local_date(now)
    day = day or today - timedelta(days=1)
    lo, hi = day_bounds(day)
    params = {"day": day, "lo": lo, "hi": hi, "now": now}
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM loyalty_dashboardfact WHERE day = %s "
                       "AND (measure = ANY(%s) OR %s)",
                       [day, [str(m) for m in FLOW_SQL], day == today - timedelta(days=1)])
        statements = dict(FLOW_SQL)
        if day == today - timedelta(days=1):
            statements.update(STOCK_SQL)
        for measure, select in statements.items():
            cursor.execute(INSERT.format(select=select), {**params, "measure": str(measure)})
            written += cursor.rowcount
    return written


def dashboard_facts_backfill(*, start: date, end: date, now: datetime | None = None) -> int:
    """Every day from start to end (both included); the demo's year, a new installation."""
    written, day = 0, start
    while day <= end:
        written += dashboard_facts_build(day=day, now=now)
        day += timedelta(days=1)
    return written
