"""Member statistics: first and last purchase, orders, spend, personal repurchase cycle and
returns — kept by the intake on every sale and return, rebuilt from the orders each night.

Both paths write the same columns with the same SQL expressions (`_derived`), so they agree
to the cent. A rebuild of a chunk of members and an intake step for a member of that chunk
exclude each other through an advisory lock on the chunk (shared for the intake, exclusive
for the rebuild): the rebuild reads orders only after every in-flight sale of the chunk has
committed, and no sale can slip in between its read and its write.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from core.clock import resolve_now

from ..models import MemberSettings, Order
from .batch import batch_by_ranges, batch_run

CHUNK = 20_000  # member ids per rebuild statement, and per advisory lock
LOCK_CLASS = 0x4D53  # "MS": the advisory lock namespace of member statistics


def _derived_columns(first: str, last: str, orders: str, sales: str, returns: str) -> dict:
    """The computed columns, from expressions for the counted ones."""
    return {
        "net_spend": f"({sales}) - ({returns})",
        "average_spend": f"round((({sales}) - ({returns})) / ({orders}), 2)",
        "repurchase_cycle_days": f"""CASE WHEN ({orders}) > 1 THEN round(
            (extract(epoch FROM ({last}) - ({first})) / 86400 / (({orders}) - 1))::numeric, 1)
            END""",
    }


def _derived(first: str, last: str, orders: str, sales: str, returns: str) -> str:
    return ",\n".join(f"{column} = {expression}" for column, expression
                      in _derived_columns(first, last, orders, sales, returns).items())


def _lifecycle(first: str, last: str) -> str:
    """Lifecycle against the programme's cycle C: first purchase within C → new; last
    purchase within C → active, within 2C → at risk, within 4C → dormant, else churned.
    Parameters: now, C days (as %(now)s, %(cycle)s)."""
    return f"""CASE
        WHEN ({first}) > %(now)s - make_interval(days => %(cycle)s) THEN 'new'
        WHEN ({last}) > %(now)s - make_interval(days => %(cycle)s) THEN 'active'
        WHEN ({last}) > %(now)s - make_interval(days => 2 * %(cycle)s) THEN 'at_risk'
        WHEN ({last}) > %(now)s - make_interval(days => 4 * %(cycle)s) THEN 'dormant'
        ELSE 'churned' END"""


def _lock_chunk(cursor, member_id: int, *, exclusive: bool) -> None:
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    cursor.execute(f"SELECT {fn}(%s, %s)", [LOCK_CLASS, member_id // CHUNK])


def stats_apply_sale(*, order: Order, now: datetime | None = None) -> None:
    """A sale adds an order and its net paid; first and last purchase widen to its time."""
    now = resolve_now(now)
    cycle = MemberSettings.current().repurchase_cycle_days
    first, last = "least(s.first_purchase_at, EXCLUDED.first_purchase_at)", \
        "greatest(s.last_purchase_at, EXCLUDED.last_purchase_at)"
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_chunk(cursor, order.member_id, exclusive=False)
        cursor.execute(
            f"""
            INSERT INTO members_memberstats AS s (
                member_id, first_purchase_at, last_purchase_at, order_count, return_count,
                sales_amount, returns_amount, net_spend, average_spend, repurchase_cycle_days,
                rfm_segment, quadrant, lifecycle)
            VALUES (%(member)s, %(at)s, %(at)s, 1, 0, %(net)s, 0, %(net)s, %(net)s, NULL,
                    '', '', {_lifecycle('%(at)s', '%(at)s')})
            ON CONFLICT (member_id) DO UPDATE SET
                first_purchase_at = {first},
                last_purchase_at = {last},
                order_count = s.order_count + 1,
                sales_amount = s.sales_amount + EXCLUDED.sales_amount,
                {_derived(first, last, 's.order_count + 1',
                          's.sales_amount + EXCLUDED.sales_amount', 's.returns_amount')},
                lifecycle = {_lifecycle(first, last)}
            """,
            {"member": order.member_id, "at": order.ordered_at, "net": order.net_amount,
             "now": now, "cycle": cycle},
        )


def stats_apply_return(*, order: Order, now: datetime | None = None) -> None:
    """A return counts once and takes its refund off the net spend; the sale it returns
    stays counted as an order."""
    now = resolve_now(now)
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_chunk(cursor, order.member_id, exclusive=False)
        cursor.execute(
            f"""
            UPDATE members_memberstats s SET
                return_count = s.return_count + 1,
                returns_amount = s.returns_amount + %(net)s,
                {_derived('s.first_purchase_at', 's.last_purchase_at', 's.order_count',
                          's.sales_amount', 's.returns_amount + %(net)s')}
            WHERE s.member_id = %(member)s
            """,
            {"member": order.member_id, "net": order.net_amount},
        )
        if cursor.rowcount == 0:  # a sale from before statistics were kept: count it all
            _rebuild_range(cursor, order.member_id, order.member_id + 1)


_DERIVED = _derived_columns("c.first_at", "c.last_at", "c.orders", "c.sales_amount",
                            "c.returns_amount")
_REBUILD = f"""
WITH counted AS (
    SELECT member_id,
           min(ordered_at) FILTER (WHERE kind = 'sale') AS first_at,
           max(ordered_at) FILTER (WHERE kind = 'sale') AS last_at,
           count(*) FILTER (WHERE kind = 'sale') AS orders,
           count(*) FILTER (WHERE kind = 'return') AS returns,
           coalesce(sum(net_amount) FILTER (WHERE kind = 'sale'), 0) AS sales_amount,
           coalesce(sum(net_amount) FILTER (WHERE kind = 'return'), 0) AS returns_amount
    FROM members_order
    WHERE member_id >= %(lo)s AND member_id < %(hi)s
    GROUP BY member_id
    HAVING count(*) FILTER (WHERE kind = 'sale') > 0
), gone AS (
    DELETE FROM members_memberstats s
    WHERE s.member_id >= %(lo)s AND s.member_id < %(hi)s
      AND NOT EXISTS (SELECT 1 FROM counted c WHERE c.member_id = s.member_id)
    RETURNING 1
)
INSERT INTO members_memberstats AS s (
    member_id, first_purchase_at, last_purchase_at, order_count, return_count,
    sales_amount, returns_amount, net_spend, average_spend, repurchase_cycle_days,
    rfm_segment, quadrant, lifecycle)
SELECT c.member_id, c.first_at, c.last_at, c.orders, c.returns, c.sales_amount,
       c.returns_amount, {_DERIVED["net_spend"]}, {_DERIVED["average_spend"]},
       {_DERIVED["repurchase_cycle_days"]}, '', '', ''
FROM counted c
ON CONFLICT (member_id) DO UPDATE SET
    first_purchase_at = EXCLUDED.first_purchase_at,
    last_purchase_at = EXCLUDED.last_purchase_at,
    order_count = EXCLUDED.order_count,
    return_count = EXCLUDED.return_count,
    sales_amount = EXCLUDED.sales_amount,
    returns_amount = EXCLUDED.returns_amount,
    net_spend = EXCLUDED.net_spend,
    average_spend = EXCLUDED.average_spend,
    repurchase_cycle_days = EXCLUDED.repurchase_cycle_days
WHERE (s.first_purchase_at, s.last_purchase_at, s.order_count, s.return_count,
       s.sales_amount, s.returns_amount, s.net_spend, s.average_spend,
       s.repurchase_cycle_days)
      IS DISTINCT FROM (EXCLUDED.first_purchase_at, EXCLUDED.last_purchase_at,
       EXCLUDED.order_count, EXCLUDED.return_count, EXCLUDED.sales_amount,
       EXCLUDED.returns_amount, EXCLUDED.net_spend, EXCLUDED.average_spend,
       EXCLUDED.repurchase_cycle_days)
"""


def _rebuild_range(cursor, lo: int, hi: int) -> None:
    cursor.execute(_REBUILD, {"lo": lo, "hi": hi})


def stats_rebuild(*, member_from: int | None = None, member_to: int | None = None,
                  now: datetime | None = None, run_key: str | None = None) -> int:
    """Recount every member's statistics from the orders, one statement per chunk of
    member ids (each its own transaction with the run's position, members.services.batch;
    re-running changes nothing). Returns the number of chunks."""
    progress = batch_run("members.statistics", run_key=run_key, now=resolve_now(now))
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM members_member")
        low, high = cursor.fetchone()
    low = max(low, member_from or 0)
    high = min(high, (member_to or high + 1) - 1)

    def apply(lo: int, hi: int) -> int:
        with connection.cursor() as cursor:
            _lock_chunk(cursor, lo, exclusive=True)
            _rebuild_range(cursor, lo, hi)
        return 1

    return batch_by_ranges(progress, low=low, high=high, size=CHUNK, apply=apply)


def lifecycle_refresh(*, now: datetime | None = None, run_key: str | None = None) -> int:
    """Move every buying member to the lifecycle stage `now` puts them in, per chunk;
    returns how many changed stage."""
    progress = batch_run("members.lifecycle", run_key=run_key, now=resolve_now(now))
    now = progress.now
    cycle = MemberSettings.current().repurchase_cycle_days
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(member_id), 0), coalesce(max(member_id), 0) "
                       "FROM members_memberstats")
        low, high = cursor.fetchone()

    def apply(lo: int, hi: int) -> int:
        with connection.cursor() as cursor:
            stage = _lifecycle("s.first_purchase_at", "s.last_purchase_at")
            cursor.execute(
                f"""UPDATE members_memberstats s SET lifecycle = {stage}
                    WHERE s.member_id >= %(lo)s AND s.member_id < %(hi)s
                      AND s.lifecycle IS DISTINCT FROM {stage}""",
                {"lo": lo, "hi": hi, "now": now, "cycle": cycle})
            return cursor.rowcount

    return batch_by_ranges(progress, low=low, high=high, size=CHUNK, apply=apply)
