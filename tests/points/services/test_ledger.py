"""The points ledger's services (points.services.ledger): earning, spending, adjustments, the
expiry and unlock jobs, reversals of returns through the intake, and replays.

Every test ends by checking the ledger's invariants (balances = Σ entries, lots back the
balances) for the members it touched."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User

from loyalty.services.intake import record_return, record_sale
from members.errors import MemberError
from members.models import Member, Order
from members.services.members import member_set_status
from points.errors import PointsError
from points.models import EntryKind, PointsEntry, PointsLot, PointsSettings
from points.services.holds import points_hold
from points.services.ledger import (
    Movement,
    points_adjust,
    points_earn,
    points_expire_due,
    points_spend,
    points_unlock_due,
)
from points.services.posting import MAX_POINTS
from points.services.rules import BasketLine, EarnRequest, rules_earn, rules_try
from tests.conftest import SHANGHAI
from tests.points.helpers import (
    assert_ledger_consistent,
    balances,
    return_input,
    sale_input,
    set_points_settings,
)

D = Decimal


@pytest.fixture
def operator(db) -> User:
    return User.objects.create(username="ops-zhang", is_staff=True)


@pytest.fixture
def settings_7d(db) -> PointsSettings:
    """A 7-day return window, 24 months to expiry, 1 point per yuan."""
    return set_points_settings(pending_days=7, expiry_months=24, points_per_yuan=1)


@pytest.fixture
def instant(db) -> PointsSettings:
    """Purchase points are available at once."""
    return set_points_settings(pending_days=0, expiry_months=24, points_per_yuan=1)


def refused(code: str, call) -> PointsError:
    """Call must fail with this PointsError code and write no entry."""
    entries = PointsEntry.objects.count()
    with pytest.raises(PointsError) as info:
        call()
    assert info.value.code.value == code
    assert PointsEntry.objects.count() == entries
    return info.value


def give(member, points: int, now: datetime, operator) -> PointsLot:
    """An available lot of `points` earned at `now` (an operator's positive adjustment)."""
    entry = points_adjust(member_id=member.pk, points=points, operator_id=operator.pk,
                          reason="test grant", now=now).entry
    return entry.lot


def remaining(*lots: PointsLot) -> list[int]:
    return [PointsLot.objects.get(pk=lot.pk).remaining for lot in lots]


def entries(member, kind: str | None = None):
    qs = PointsEntry.objects.filter(member_id=member.pk).order_by("id")
    return list(qs.filter(kind=kind) if kind else qs)


# --- earning -------------------------------------------------------------------------------


def test_sale_points_are_pending_for_the_return_window_then_available(store, member, now,
                                                                      settings_7d):
    outcome = record_sale(sale=sale_input(store, member.pk, now, "S-1", "120.00"), now=now)

    earn = outcome.points.entry
    assert outcome.points.created
    assert (earn.kind, earn.pending_delta, earn.available_delta, earn.order_id) == (
        EntryKind.EARN, 120, 0, outcome.order.pk)
    lot = PointsLot.objects.get(pk=earn.lot_id)
    assert (lot.state, lot.original, lot.remaining) == (PointsLot.State.PENDING, 120, 120)
    assert lot.unlocks_at == now + timedelta(days=7)
    assert balances(member.pk) == {"available": 0, "pending": 120, "held": 0, "debt": 0}

    # One second before the window closes nothing unlocks.
    assert points_unlock_due(now=now + timedelta(days=7, seconds=-1)) == 0
    assert balances(member.pk)["pending"] == 120

    later = now + timedelta(days=7)
    assert points_unlock_due(now=later) == 1
    assert balances(member.pk) == {"available": 120, "pending": 0, "held": 0, "debt": 0}
    [unlock] = entries(member, EntryKind.UNLOCK)
    assert (unlock.available_delta, unlock.pending_delta, unlock.lot_id) == (120, -120, lot.pk)
    assert unlock.created_at == later
    lot.refresh_from_db()
    assert (lot.state, lot.remaining) == (PointsLot.State.AVAILABLE, 120)
    assert_ledger_consistent(member.pk)


def test_without_a_return_window_points_are_available_at_once(store, member, now, instant):
    outcome = record_sale(sale=sale_input(store, member.pk, now, "S-1", "88.00"), now=now)

    earn = outcome.points.entry
    assert (earn.available_delta, earn.pending_delta) == (88, 0)
    lot = PointsLot.objects.get(pk=earn.lot_id)
    assert (lot.state, lot.unlocks_at) == (PointsLot.State.AVAILABLE, None)
    assert balances(member.pk) == {"available": 88, "pending": 0, "held": 0, "debt": 0}
    assert points_spend(member_id=member.pk, points=88, now=now).created
    assert balances(member.pk)["available"] == 0
    assert_ledger_consistent(member.pk)


@pytest.mark.parametrize(("months", "earned_at", "expires_at"), [
    (24, datetime(2026, 3, 14, 10, 30, tzinfo=SHANGHAI),
     datetime(2028, 3, 14, 10, 30, tzinfo=SHANGHAI)),
    (1, datetime(2026, 1, 31, 23, 0, tzinfo=SHANGHAI),  # month end: 28 February
     datetime(2026, 2, 28, 23, 0, tzinfo=SHANGHAI)),
    (12, datetime(2028, 2, 29, 9, 0, tzinfo=SHANGHAI),  # leap day
     datetime(2029, 2, 28, 9, 0, tzinfo=SHANGHAI)),
])
def test_a_lot_expires_expiry_months_after_it_was_earned(member, months, earned_at, expires_at):
    set_points_settings(pending_days=7, expiry_months=months)

    entry = points_earn(member_id=member.pk, points=50, now=earned_at).entry

    lot = PointsLot.objects.get(pk=entry.lot_id)
    assert lot.expires_at == expires_at
    assert lot.expires_at == earned_at + relativedelta(months=months)


def test_without_expiry_months_points_never_expire(store, member, now, operator):
    set_points_settings(pending_days=0, expiry_months=None)
    sale = record_sale(sale=sale_input(store, member.pk, now, "S-1", "40.00"), now=now)
    adjusted = give(member, 60, now, operator)

    assert PointsLot.objects.get(pk=sale.points.entry.lot_id).expires_at is None
    assert adjusted.expires_at is None
    assert points_expire_due(now=now + relativedelta(years=100)) == 0
    assert balances(member.pk)["available"] == 100
    assert entries(member, EntryKind.EXPIRE) == []


@pytest.mark.parametrize(("amount", "per_yuan", "points"), [
    ("99.90", 1, 99), ("99.99", 1, 99), ("100.00", 1, 100), ("0.99", 1, 0), ("0.00", 1, 0),
    ("99.90", 3, 299), ("33.34", 3, 100), ("0.33", 3, 0), ("12345.67", 2, 24691),
])
def test_purchase_points_round_down(member, now, amount, per_yuan, points):
    set_points_settings(points_per_yuan=per_yuan)
    results = rules_try(EarnRequest(event="sale", member_id=member.pk, occurred_at=now,
                                    lines=(BasketLine(1, "SKU-1", "", D(amount)),)), now=now)

    assert sum(r.points for r in results) == points


def test_a_sale_of_99_90_earns_99_and_one_under_a_yuan_earns_nothing(store, member, now,
                                                                      instant):
    big = record_sale(sale=sale_input(store, member.pk, now, "S-1", "99.90"), now=now)
    small = record_sale(sale=sale_input(store, member.pk, now, "S-2", "0.99"), now=now)

    assert big.points.entry.available_delta == 99
    assert small.points is None
    assert PointsEntry.objects.filter(order=small.order).count() == 0
    assert balances(member.pk)["available"] == 99


@pytest.mark.parametrize("points", [0, -5, True, 1.5])
def test_an_earning_must_be_a_positive_whole_number(member, now, points):
    error = refused("non_positive_amount",
                    lambda: points_earn(member_id=member.pk, points=points, now=now))
    assert error.status == 400


def test_an_operation_is_capped(member, now, operator):
    refused("amount_too_large",
            lambda: points_earn(member_id=member.pk, points=MAX_POINTS + 1, now=now))
    refused("amount_too_large", lambda: points_adjust(
        member_id=member.pk, points=-(MAX_POINTS + 1), operator_id=operator.pk,
        reason="typo", now=now))
    assert points_earn(member_id=member.pk, points=MAX_POINTS, now=now).created


def test_earning_for_an_unknown_member_is_refused(db, now):
    with pytest.raises(MemberError) as info:
        points_earn(member_id=987654, points=10, now=now)
    assert info.value.code.value == "member_not_found"


# --- spending ------------------------------------------------------------------------------


def test_spending_takes_the_soonest_expiring_lots_first_and_never_expiring_lots_last(
        member, now, operator):
    set_points_settings(expiry_months=None)
    never = give(member, 50, now - relativedelta(months=20), operator)   # oldest lot
    set_points_settings(expiry_months=12)
    late = give(member, 50, now, operator)                               # expires now + 12m
    soon = give(member, 50, now - relativedelta(months=6), operator)     # expires now + 6m
    middle = give(member, 50, now - relativedelta(months=3), operator)   # expires now + 9m
    assert never.expires_at is None

    points_spend(member_id=member.pk, points=120, now=now)
    assert remaining(soon, middle, late, never) == [0, 0, 30, 50]

    points_spend(member_id=member.pk, points=60, now=now)
    assert remaining(soon, middle, late, never) == [0, 0, 0, 20]
    [first, second] = entries(member, EntryKind.SPEND)
    assert (first.available_delta, second.available_delta) == (-120, -60)
    assert balances(member.pk)["available"] == 20
    assert_ledger_consistent(member.pk)


def test_lots_expiring_at_the_same_moment_are_spent_oldest_first(member, now, operator):
    set_points_settings(expiry_months=12)
    first = give(member, 30, now, operator)
    second = give(member, 30, now, operator)

    points_spend(member_id=member.pk, points=40, now=now)

    assert remaining(first, second) == [0, 20]


def test_pending_points_cannot_be_spent(store, member, now, settings_7d, operator):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "100.00"), now=now)
    give(member, 20, now, operator)

    error = refused("insufficient_points",
                    lambda: points_spend(member_id=member.pk, points=21, now=now))
    assert error.params == {"available": 20, "requested": 21}
    assert error.status == 409
    refused("insufficient_points", lambda: points_adjust(
        member_id=member.pk, points=-21, operator_id=operator.pk, reason="fix", now=now))
    assert balances(member.pk) == {"available": 20, "pending": 100, "held": 0, "debt": 0}
    points_spend(member_id=member.pk, points=20, now=now)
    assert balances(member.pk) == {"available": 0, "pending": 100, "held": 0, "debt": 0}


def test_held_points_cannot_be_spent(member, now, operator):
    give(member, 80, now, operator)
    points_hold(member_id=member.pk, points=50, now=now)
    assert balances(member.pk) == {"available": 30, "pending": 0, "held": 50, "debt": 0}

    error = refused("insufficient_points",
                    lambda: points_spend(member_id=member.pk, points=31, now=now))
    assert error.params == {"available": 30, "requested": 31}
    points_spend(member_id=member.pk, points=30, now=now)
    refused("insufficient_points", lambda: points_spend(member_id=member.pk, points=1, now=now))
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 50, "debt": 0}
    assert_ledger_consistent(member.pk)


@pytest.mark.parametrize("points", [0, -10, True])
def test_a_spend_must_be_a_positive_whole_number(member, now, operator, points):
    give(member, 30, now, operator)
    refused("non_positive_amount",
            lambda: points_spend(member_id=member.pk, points=points, now=now))
    assert balances(member.pk)["available"] == 30


# --- frozen members ------------------------------------------------------------------------


def test_a_frozen_member_cannot_spend_and_earns_nothing(store, member, now, instant, operator):
    give(member, 100, now, operator)
    member_set_status(member_id=member.pk, status=Member.Status.FROZEN, now=now)

    error = refused("member_frozen",
                    lambda: points_spend(member_id=member.pk, points=10, now=now))
    assert error.status == 409
    outcome = record_sale(sale=sale_input(store, member.pk, now, "S-1", "500.00"), now=now)
    assert outcome.created  # the sale is stored: the money was paid
    assert outcome.points is None
    assert points_earn(member_id=member.pk, points=10, now=now) is None
    assert PointsEntry.objects.filter(member_id=member.pk, kind=EntryKind.EARN).count() == 0
    assert balances(member.pk) == {"available": 100, "pending": 0, "held": 0, "debt": 0}

    # Unfrozen, the member spends again; the sale made while frozen never earns.
    member_set_status(member_id=member.pk, status=Member.Status.ACTIVE, now=now)
    assert points_spend(member_id=member.pk, points=10, now=now).created
    assert balances(member.pk)["available"] == 90
    assert_ledger_consistent(member.pk)


def test_a_frozen_members_return_still_reverses(store, member, now, instant):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "80.00", quantity=2), now=now)
    member_set_status(member_id=member.pk, status=Member.Status.FROZEN, now=now)

    outcome = record_return(ret=return_input(store, now, "R-1", "S-1", quantity=1), now=now)

    entry = outcome.points.entry
    assert (entry.kind, entry.available_delta, entry.order_id) == (
        EntryKind.REVERSE, -40, outcome.order.pk)
    assert balances(member.pk)["available"] == 40
    assert_ledger_consistent(member.pk)


def test_adjustments_apply_to_frozen_members(member, now, operator):
    member_set_status(member_id=member.pk, status=Member.Status.FROZEN, now=now)

    points_adjust(member_id=member.pk, points=25, operator_id=operator.pk,
                  reason="goodwill", now=now)

    assert balances(member.pk)["available"] == 25


# --- adjustments ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_adjustment_needs_a_reason(member, now, operator, reason):
    error = refused("reason_required", lambda: points_adjust(
        member_id=member.pk, points=10, operator_id=operator.pk, reason=reason, now=now))
    assert error.status == 400
    assert balances(member.pk)["available"] == 0


@pytest.mark.parametrize("operator_id", [None, 0])
def test_an_adjustment_needs_an_operator(member, now, operator_id):
    refused("operator_required", lambda: points_adjust(
        member_id=member.pk, points=10, operator_id=operator_id, reason="goodwill", now=now))
    assert balances(member.pk)["available"] == 0


def test_an_adjustment_is_attributed_to_its_operator_and_reason(member, now, operator):
    up = points_adjust(member_id=member.pk, points=75, operator_id=operator.pk,
                       reason="  complaint #88  ", now=now).entry
    down = points_adjust(member_id=member.pk, points=-25, operator_id=operator.pk,
                         reason="double credit", now=now + timedelta(hours=1)).entry

    up.refresh_from_db()
    down.refresh_from_db()
    # the ledger keeps a reason code; what the operator typed is a note beside it
    assert (up.kind, up.available_delta, up.operator_id, up.reason, up.note.text) == (
        EntryKind.ADJUST, 75, operator.pk, "other", "complaint #88")
    assert (down.kind, down.available_delta, down.operator_id, down.reason,
            down.note.text) == (EntryKind.ADJUST, -25, operator.pk, "other", "double credit")
    assert up.operator.username == "ops-zhang"
    assert down.lot_id is None
    lot = PointsLot.objects.get(pk=up.lot_id)
    assert (lot.state, lot.original, lot.remaining) == (PointsLot.State.AVAILABLE, 75, 50)
    assert lot.expires_at == now + relativedelta(months=PointsSettings.load().expiry_months)
    assert balances(member.pk)["available"] == 50
    assert_ledger_consistent(member.pk)


def test_a_negative_adjustment_never_exceeds_what_is_available(member, now, operator):
    give(member, 40, now, operator)

    error = refused("insufficient_points", lambda: points_adjust(
        member_id=member.pk, points=-41, operator_id=operator.pk, reason="fix", now=now))
    assert error.params == {"available": 40, "requested": 41}
    assert balances(member.pk)["available"] == 40

    points_adjust(member_id=member.pk, points=-40, operator_id=operator.pk, reason="fix", now=now)
    assert balances(member.pk)["available"] == 0
    refused("insufficient_points", lambda: points_adjust(
        member_id=member.pk, points=-1, operator_id=operator.pk, reason="fix", now=now))
    assert_ledger_consistent(member.pk)


def test_a_zero_adjustment_is_refused(member, now, operator):
    refused("non_positive_amount", lambda: points_adjust(
        member_id=member.pk, points=0, operator_id=operator.pk, reason="nothing", now=now))


# --- the expiry job ------------------------------------------------------------------------


def test_the_expiry_job_expires_exactly_the_due_lots_once(member, make_member, now, operator):
    other = make_member()
    set_points_settings(expiry_months=12)
    due = give(member, 50, now - relativedelta(months=12), operator)           # due now
    spent = give(member, 20, now - relativedelta(months=12, days=1), operator)  # due, emptied
    later = give(member, 70, now - relativedelta(months=12) + timedelta(seconds=1), operator)
    others = give(other, 30, now - relativedelta(months=13), operator)        # due, other member
    # spends all of `spent` (the soonest to expire) and 10 of `due`
    points_spend(member_id=member.pk, points=30, now=now - timedelta(days=1))
    assert remaining(spent, due, later) == [0, 40, 70]

    assert points_expire_due(now=now) == 2

    expired = entries(member, EntryKind.EXPIRE)
    assert [(e.lot_id, e.available_delta, e.created_at) for e in expired] == [(due.pk, -40, now)]
    assert [e.lot_id for e in entries(other, EntryKind.EXPIRE)] == [others.pk]
    assert remaining(due, spent, later, others) == [0, 0, 70, 0]
    assert balances(member.pk)["available"] == 70
    assert balances(other.pk)["available"] == 0

    # A second run at the same moment finds nothing due.
    before = (PointsEntry.objects.count(), balances(member.pk), balances(other.pk))
    assert points_expire_due(now=now) == 0
    assert (PointsEntry.objects.count(), balances(member.pk), balances(other.pk)) == before

    # A second later the next lot is due — one more entry, for that lot only.
    assert points_expire_due(now=now + timedelta(seconds=1)) == 1
    assert [e.lot_id for e in entries(member, EntryKind.EXPIRE)] == [due.pk, later.pk]
    assert balances(member.pk)["available"] == 0
    assert_ledger_consistent(member.pk)
    assert_ledger_consistent(other.pk)


def test_the_expiry_job_leaves_pending_lots_alone(store, member, now):
    set_points_settings(pending_days=60, expiry_months=1)
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "10.00"), now=now)

    assert points_expire_due(now=now + relativedelta(months=1)) == 0
    assert balances(member.pk) == {"available": 0, "pending": 10, "held": 0, "debt": 0}


def test_the_expiry_job_works_in_chunks(make_member, now, operator):
    set_points_settings(expiry_months=1)
    members = [make_member() for _ in range(5)]
    for m in members:
        give(m, 10, now - relativedelta(months=2), operator)

    assert points_expire_due(now=now, chunk=2) == 5
    assert points_expire_due(now=now, chunk=2) == 0
    for m in members:
        assert balances(m.pk)["available"] == 0
        assert len(entries(m, EntryKind.EXPIRE)) == 1


# --- the unlock job ------------------------------------------------------------------------


def test_the_unlock_job_unlocks_exactly_the_due_lots_once(store, member, now, settings_7d):
    first = record_sale(sale=sale_input(store, member.pk, now, "S-1", "30.00"), now=now)
    second = record_sale(sale=sale_input(store, member.pk, now + timedelta(days=2), "S-2",
                                         "50.00"), now=now + timedelta(days=2))
    at = now + timedelta(days=7)

    assert points_unlock_due(now=at) == 1
    assert [e.lot_id for e in entries(member, EntryKind.UNLOCK)] == [first.points.entry.lot_id]
    assert balances(member.pk) == {"available": 30, "pending": 50, "held": 0, "debt": 0}

    before = PointsEntry.objects.count()
    assert points_unlock_due(now=at) == 0
    assert PointsEntry.objects.count() == before
    assert balances(member.pk) == {"available": 30, "pending": 50, "held": 0, "debt": 0}

    assert points_unlock_due(now=at + timedelta(days=2)) == 1
    assert [e.lot_id for e in entries(member, EntryKind.UNLOCK)] == [
        first.points.entry.lot_id, second.points.entry.lot_id]
    assert balances(member.pk) == {"available": 80, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_a_fully_returned_pending_lot_unlocks_without_an_entry(store, member, now, settings_7d):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "30.00"), now=now)
    record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)

    points_unlock_due(now=now + timedelta(days=7))

    assert entries(member, EntryKind.UNLOCK) == []
    assert PointsLot.objects.get(member_id=member.pk).state == PointsLot.State.AVAILABLE
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 0}


# --- reversals through the intake ----------------------------------------------------------


def test_partial_returns_reverse_in_proportion_and_add_up_to_the_earning(store, member, now,
                                                                         settings_7d):
    # 3 units for ¥100.00: the returns refund ¥33.33, ¥33.33 and ¥33.34.
    sale = record_sale(sale=sale_input(store, member.pk, now, "S-1", "100.00", quantity=3),
                       now=now)
    assert sale.points.entry.pending_delta == 100

    reversed_points = []
    for n in range(3):
        outcome = record_return(ret=return_input(store, now, f"R-{n}", "S-1"), now=now)
        entry = outcome.points.entry
        assert entry.kind == EntryKind.REVERSE and entry.order_id == outcome.order.pk
        reversed_points.append(-entry.points)

    nets = [r.net_amount for r in Order.objects.filter(kind="return").order_by("id")]
    assert nets == [D("33.33"), D("33.34"), D("33.33")]
    assert reversed_points == [33, 34, 33]  # cumulative: 33.33→33, 66.67→67, 100.00→100
    assert sum(reversed_points) == 100
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_a_partial_return_reverses_the_returned_share(store, member, now, instant):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "90.00", quantity=3), now=now)

    first = record_return(ret=return_input(store, now, "R-1", "S-1", quantity=1), now=now)
    assert first.points.entry.available_delta == -30
    assert balances(member.pk)["available"] == 60

    rest = record_return(ret=return_input(store, now, "R-2", "S-1", quantity=2), now=now)
    assert rest.points.entry.available_delta == -60
    assert balances(member.pk)["available"] == 0


def test_a_return_takes_the_sales_pending_points_first(store, member, now, settings_7d,
                                                       operator):
    give(member, 40, now, operator)
    sale = record_sale(sale=sale_input(store, member.pk, now, "S-1", "60.00"), now=now)

    outcome = record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)

    entry = outcome.points.entry
    assert (entry.pending_delta, entry.available_delta, entry.debt_delta) == (-60, 0, 0)
    assert PointsLot.objects.get(pk=sale.points.entry.lot_id).remaining == 0
    assert balances(member.pk) == {"available": 40, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_a_return_after_the_window_takes_the_sales_own_lot_first(store, member, now,
                                                                 settings_7d, operator):
    set_points_settings(expiry_months=1)
    early = give(member, 40, now, operator)  # expires before the sale's lot
    sale = record_sale(sale=sale_input(store, member.pk, now, "S-1", "60.00"), now=now)
    points_unlock_due(now=now + timedelta(days=7))

    record_return(ret=return_input(store, now, "R-1", "S-1"), now=now + timedelta(days=8))

    assert remaining(early) == [40]
    assert PointsLot.objects.get(pk=sale.points.entry.lot_id).remaining == 0
    assert balances(member.pk)["available"] == 40


def test_a_reversal_beyond_the_balance_becomes_a_debt_collected_from_the_next_earning(
        store, member, now, instant):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "100.00"), now=now)
    points_spend(member_id=member.pk, points=80, now=now)

    outcome = record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)

    entry = outcome.points.entry
    assert (entry.available_delta, entry.pending_delta, entry.debt_delta) == (-20, 0, 80)
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 80}
    assert_ledger_consistent(member.pk)

    # ¥50 pays off 50 of the debt and credits nothing.
    small = record_sale(sale=sale_input(store, member.pk, now, "S-2", "50.00"), now=now).points
    assert (small.entry.available_delta, small.entry.debt_delta, small.entry.lot_id) == (
        0, -50, None)
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 30}

    # ¥100 pays the remaining 30: the new lot is 70.
    big = record_sale(sale=sale_input(store, member.pk, now, "S-3", "100.00"), now=now).points
    assert (big.entry.available_delta, big.entry.debt_delta) == (70, -30)
    lot = PointsLot.objects.get(pk=big.entry.lot_id)
    assert (lot.original, lot.remaining) == (70, 70)
    assert balances(member.pk) == {"available": 70, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)

    # Returning the sale that paid the debt reverses all it earned, debt included.
    back = record_return(ret=return_input(store, now, "R-3", "S-3"), now=now).points.entry
    assert (back.available_delta, back.debt_delta) == (-70, 30)
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 30}
    assert_ledger_consistent(member.pk)


def test_a_debt_is_collected_from_a_pending_earning_too(store, member, now, instant):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "30.00"), now=now)
    points_spend(member_id=member.pk, points=30, now=now)
    record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)
    assert balances(member.pk)["debt"] == 30
    set_points_settings(pending_days=7)

    earn = record_sale(sale=sale_input(store, member.pk, now, "S-2", "100.00"), now=now).points

    assert (earn.entry.pending_delta, earn.entry.debt_delta) == (70, -30)
    assert balances(member.pk) == {"available": 0, "pending": 70, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_a_return_of_a_sale_that_earned_nothing_reverses_nothing(store, member, now, instant):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "0.50"), now=now)

    outcome = record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)

    assert outcome.created and outcome.points is None
    assert not PointsEntry.objects.filter(kind=EntryKind.REVERSE).exists()


def test_a_replayed_return_reverses_once(store, member, now, instant):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "50.00", quantity=2), now=now)
    first = record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)

    again = record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)

    assert (again.created, again.points.created) == (False, False)
    assert again.points.entry.pk == first.points.entry.pk
    assert PointsEntry.objects.filter(kind=EntryKind.REVERSE).count() == 1
    assert balances(member.pk)["available"] == 25


# --- one earning per sale, replays -----------------------------------------------------------


def test_one_earning_per_sale(store, member, now, settings_7d):
    sale = record_sale(sale=sale_input(store, member.pk, now, "S-1", "66.60"), now=now)

    order = sale.order
    again = rules_earn(EarnRequest(
        event="sale", member_id=member.pk, occurred_at=now, order_id=order.pk,
        lines=tuple(BasketLine(ln.line_no, ln.sku, ln.category, ln.net_amount, ln.pk)
                    for ln in order.lines.all())),
        source_key=f"sale:{order.pk}", now=now + timedelta(hours=1)).movements.get(member.pk)
    again = again or Movement(entry=PointsEntry.objects.get(source_key=f"sale:{order.pk}:member"),
                              created=False)
    replayed = record_sale(sale=sale_input(store, member.pk, now, "S-1", "66.60"), now=now)

    assert sale.points.created and not again.created and not replayed.points.created
    assert again.entry.pk == replayed.points.entry.pk == sale.points.entry.pk
    assert PointsEntry.objects.filter(order=sale.order, kind=EntryKind.EARN).count() == 1
    assert PointsLot.objects.filter(member_id=member.pk).count() == 1
    assert balances(member.pk)["pending"] == 66


def test_a_spend_replayed_under_its_source_key_is_spent_once(member, now, operator):
    give(member, 100, now, operator)

    first = points_spend(member_id=member.pk, points=30, source_key="redeem:77", now=now)
    again = points_spend(member_id=member.pk, points=30, source_key="redeem:77",
                         now=now + timedelta(minutes=1))

    assert (first.created, again.created) == (True, False)
    assert again.entry.pk == first.entry.pk
    assert again.entry.created_at == now
    assert balances(member.pk)["available"] == 70
    assert len(entries(member, EntryKind.SPEND)) == 1


def test_a_replay_is_answered_even_when_it_could_no_longer_be_spent(member, now, operator):
    give(member, 30, now, operator)
    first = points_spend(member_id=member.pk, points=30, source_key="redeem:1", now=now)

    again = points_spend(member_id=member.pk, points=30, source_key="redeem:1", now=now)

    assert (again.created, again.entry.pk) == (False, first.entry.pk)


def test_a_source_key_with_other_contents_is_a_conflict(member, make_member, now, operator):
    other = make_member()
    give(member, 100, now, operator)
    give(other, 100, now, operator)
    points_spend(member_id=member.pk, points=30, source_key="redeem:1", now=now)

    for call in (
        lambda: points_spend(member_id=member.pk, points=31, source_key="redeem:1", now=now),
        lambda: points_spend(member_id=other.pk, points=30, source_key="redeem:1", now=now),
        lambda: points_adjust(member_id=member.pk, points=-30, operator_id=operator.pk,
                              reason="x", source_key="redeem:1", now=now),
        lambda: points_earn(member_id=member.pk, points=30, source_key="redeem:1", now=now),
    ):
        error = refused("source_key_conflict", call)
        assert error.status == 409
    assert balances(member.pk)["available"] == 70
    assert balances(other.pk)["available"] == 100


def test_an_adjustment_replayed_under_its_source_key(member, now, operator):
    first = points_adjust(member_id=member.pk, points=40, operator_id=operator.pk,
                          reason="goodwill", source_key="ticket:9", now=now)
    again = points_adjust(member_id=member.pk, points=40, operator_id=operator.pk,
                          reason="goodwill", source_key="ticket:9", now=now)

    assert (first.created, again.created, again.entry.pk) == (True, False, first.entry.pk)
    refused("source_key_conflict", lambda: points_adjust(
        member_id=member.pk, points=41, operator_id=operator.pk, reason="goodwill",
        source_key="ticket:9", now=now))
    assert balances(member.pk)["available"] == 40


def test_an_earning_replayed_under_its_source_key(store, member, now, instant):
    first = points_earn(member_id=member.pk, points=40, source_key="bonus:1", now=now)
    again = points_earn(member_id=member.pk, points=40, source_key="bonus:1", now=now)

    assert (first.created, again.created, again.entry.pk) == (True, False, first.entry.pk)
    refused("source_key_conflict",
            lambda: points_earn(member_id=member.pk, points=41, source_key="bonus:1", now=now))
    assert balances(member.pk)["available"] == 40
    assert PointsLot.objects.filter(member_id=member.pk).count() == 1
    # the same key again, now tied to a sale
    order = record_sale(sale=sale_input(store, member.pk, now, "S-9", "40.00"), now=now).order
    refused("source_key_conflict", lambda: points_earn(
        member_id=member.pk, points=40, source_key="bonus:1", order_id=order.pk, now=now))


def test_an_earning_that_collected_a_debt_replays_as_the_same_amount(store, member, now,
                                                                     instant):
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "30.00"), now=now)
    points_spend(member_id=member.pk, points=30, now=now)
    record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)
    first = points_earn(member_id=member.pk, points=100, source_key="bonus:2", now=now)
    assert (first.entry.available_delta, first.entry.debt_delta) == (70, -30)

    again = points_earn(member_id=member.pk, points=100, source_key="bonus:2", now=now)

    assert (again.created, again.entry.pk) == (False, first.entry.pk)
    refused("source_key_conflict",
            lambda: points_earn(member_id=member.pk, points=70, source_key="bonus:2", now=now))
    assert balances(member.pk) == {"available": 70, "pending": 0, "held": 0, "debt": 0}
