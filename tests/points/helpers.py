"""Shared helpers for the points ledger tests: inputs for the intake, settings, and the
ledger's invariants checked against the database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.chain import ENTRY_CHAIN, ENTRY_COLUMNS
from points.models import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsLotMovement,
    PointsSettings,
)

D = Decimal


def set_points_settings(**fields) -> PointsSettings:
    """Change the singleton settings row (pending_days, expiry_months) and, for
    points_per_yuan, the rate of the default purchase rule."""
    from points.models import EarningRule

    if "points_per_yuan" in fields:
        EarningRule.objects.filter(rule_key="purchase", is_current=True).update(
            points_per_yuan=fields.pop("points_per_yuan"))
    obj = PointsSettings.load()
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save()
    return obj


def sale_input(store, member_id: int, now: datetime, order_no: str, amount: str = "100.00",
               quantity: int = 1) -> SaleInput:
    """A one-line sale of `quantity` units that paid `amount` in total."""
    return SaleInput(store_code=store.code, order_no=order_no, member_id=member_id,
                     ordered_at=now,
                     lines=(LineInput(line_no=1, sku="SKU-1", quantity=quantity,
                                      gross_amount=D(amount)),))


def return_input(store, now: datetime, order_no: str, sale_order_no: str,
                 quantity: int = 1, line_no: int = 1) -> ReturnInput:
    return ReturnInput(store_code=store.code, order_no=order_no, sale_order_no=sale_order_no,
                       ordered_at=now, lines=(ReturnLineInput(line_no=line_no, quantity=quantity),))


def balances(member_id: int) -> dict[str, int]:
    account = PointsAccount.objects.filter(member_id=member_id).first()
    if account is None:
        return {"available": 0, "pending": 0, "held": 0, "debt": 0}
    return {"available": account.available, "pending": account.pending,
            "held": account.held, "debt": account.debt}


def entry_sums(member_id: int) -> dict[str, int]:
    sums = PointsEntry.objects.filter(member_id=member_id).aggregate(
        available=Sum("available_delta"), pending=Sum("pending_delta"),
        held=Sum("held_delta"), debt=Sum("debt_delta"))
    return {name: value or 0 for name, value in sums.items()}


def lot_sums(member_id: int) -> dict[str, int]:
    rows = (PointsLot.objects.filter(member_id=member_id).values("state")
            .annotate(s=Sum("remaining")))
    sums = {"available": 0, "pending": 0}
    for row in rows:
        sums[row["state"]] = row["s"] or 0
    return sums


def movement_sums(member_id: int) -> dict[int, int]:
    """lot id → the sum of its movements' points."""
    return dict(PointsLotMovement.objects.filter(lot__member_id=member_id).values("lot_id")
                .annotate(s=Sum("points")).values_list("lot_id", "s"))


def assert_ledger_consistent(member_id: int) -> dict[str, int]:
    """Every balance equals the sum of its entries, the lots back the balances exactly,
    each lot equals the sum of its movements and held points the sum of theirs, nothing is
    negative and no lot holds more than it was given. Returns the balances."""
    held = balances(member_id)
    assert entry_sums(member_id) == held, f"member {member_id}: entries ≠ balances"
    lots = lot_sums(member_id)
    assert lots == {"available": held["available"], "pending": held["pending"]}, (
        f"member {member_id}: lots {lots} ≠ balances {held}")
    assert all(value >= 0 for value in held.values()), held
    assert not PointsLot.objects.filter(member_id=member_id, remaining__lt=0).exists()
    moved = movement_sums(member_id)
    for lot in PointsLot.objects.filter(member_id=member_id):
        assert 0 <= lot.remaining <= lot.original, lot
        assert lot.remaining == moved.get(lot.pk, 0), (
            f"lot {lot.pk}: remaining {lot.remaining} ≠ movements {moved.get(lot.pk, 0)}")
    in_holds = (PointsLotMovement.objects.filter(member_id=member_id)
                .aggregate(s=Sum("held"))["s"] or 0)
    assert in_holds == held["held"], f"member {member_id}: held movements {in_holds} ≠ held"
    assert_chained(member_id)
    return held


def assert_chained(member_id: int) -> None:
    """Each of the member's entries carries the hash of its content after the previous
    one's, recomputed here in Python whoever wrote it (the posting path or a set-based
    job's SQL), and the account's head is the last one."""
    head = None
    for row in PointsEntry.objects.filter(member_id=member_id).order_by("id").values(
            "id", "hash", *ENTRY_COLUMNS):
        expected = ENTRY_CHAIN.link(head, row)
        assert row["hash"] is not None and bytes(row["hash"]) == expected, (
            f"entry {row['id']} ({row['kind']}): hash does not chain")
        head = expected
    account = PointsAccount.objects.filter(member_id=member_id).first()
    stored = bytes(account.chain_head) if account and account.chain_head is not None else None
    assert stored == head, f"member {member_id}: chain head is not the last entry's hash"


_SNAPSHOT_SQL = """
SELECT m.id,
       COALESCE(a.available, 0), COALESCE(a.pending, 0), COALESCE(a.held, 0),
       COALESCE(a.debt, 0),
       (SELECT ROW(COALESCE(SUM(e.available_delta), 0), COALESCE(SUM(e.pending_delta), 0),
                   COALESCE(SUM(e.held_delta), 0), COALESCE(SUM(e.debt_delta), 0))::text
        FROM points_pointsentry e WHERE e.member_id = m.id),
       (SELECT COALESCE(SUM(l.remaining) FILTER (WHERE l.state = 'available'), 0)
        FROM points_pointslot l WHERE l.member_id = m.id),
       (SELECT COALESCE(SUM(l.remaining) FILTER (WHERE l.state = 'pending'), 0)
        FROM points_pointslot l WHERE l.member_id = m.id),
       (SELECT COUNT(*) FROM points_pointslot l
        WHERE l.member_id = m.id AND (l.remaining < 0 OR l.remaining > l.original)),
       -- lots whose remaining is not the sum of their movements
       -- (one grouped pass per member: a correlated sum per lot is quadratic inside the
       -- state machine's long transaction, where the planner has no statistics)
       (SELECT COUNT(*) FROM points_pointslot l
        LEFT JOIN (SELECT mv.lot_id, SUM(mv.points) AS points
                   FROM points_pointslotmovement mv WHERE mv.member_id = m.id
                   GROUP BY mv.lot_id) moved ON moved.lot_id = l.id
        WHERE l.member_id = m.id AND l.remaining <> COALESCE(moved.points, 0)),
       (SELECT COALESCE(SUM(mv.held), 0) FROM points_pointslotmovement mv
        WHERE mv.member_id = m.id)
FROM members_member m LEFT JOIN points_pointsaccount a ON a.member_id = m.id
WHERE m.id = ANY(%s)
"""


def assert_ledgers_consistent(member_ids: list[int]) -> dict[int, dict[str, int]]:
    """assert_ledger_consistent for several members in one query (for the state machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_SNAPSHOT_SQL, [list(member_ids)])
        rows = cursor.fetchall()
    assert len(rows) == len(set(member_ids))
    result = {}
    for (pk, available, pending, held, debt, sums, lots_available, lots_pending, bad,
         unmoved, in_holds) in rows:
        held_balances = {"available": available, "pending": pending, "held": held, "debt": debt}
        entry_totals = [int(x) for x in sums.strip("()").split(",")]
        assert entry_totals == [available, pending, held, debt], (
            f"member {pk}: entries {entry_totals} ≠ balances {held_balances}")
        assert (lots_available, lots_pending) == (available, pending), (
            f"member {pk}: lots ({lots_available}, {lots_pending}) ≠ balances {held_balances}")
        assert all(v >= 0 for v in held_balances.values()), held_balances
        assert bad == 0, f"member {pk}: a lot's remaining is outside 0..original"
        assert unmoved == 0, f"member {pk}: {unmoved} lots ≠ the sum of their movements"
        assert in_holds == held, f"member {pk}: held movements {in_holds} ≠ held {held}"
        result[pk] = held_balances
    return result
