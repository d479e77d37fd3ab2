"""Points used as cash (points.services.payments): a sale linked to the payment that took its
points, and a return giving back exactly those points, into the lots they came from, with
their expiry; per-lot movements for every entry; coupons restored on a full return."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from loyalty.services.intake import Notice, record_return, record_sale
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.errors import PointsError
from points.models import (
    Coupon,
    CouponEvent,
    EarningRule,
    EntryKind,
    PointsEntry,
    PointsLot,
    PointsLotMovement,
    PointsPayment,
)
from points.services.coupons import coupon_issue, coupon_redeem
from points.services.holds import points_hold, points_hold_capture
from points.services.ledger import points_adjust, points_expire_due
from points.services.payments import PaymentRef, points_pay
from tests.points.catalog_helpers import basket, make_template
from tests.points.helpers import assert_ledger_consistent, balances, set_points_settings

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def no_earning(default_earning_rules):
    """Only points as cash move: no rule pays for the sales."""
    EarningRule.objects.update(is_active=False)


@pytest.fixture
def operator(db):
    return User.objects.create(username="ops")


@pytest.fixture
def lots(member, operator, now):
    """Three lots of 100 that expire in one month, in three months and never."""
    made = []
    for months in (1, 3, None):
        set_points_settings(expiry_policy="rolling" if months else "none", expiry_months=months)
        made.append(points_adjust(member_id=member.pk, points=100, operator_id=operator.pk,
                                  reason="credit", now=now).entry.lot)
    return made


def lot_state(lots) -> list[tuple[int, object]]:
    return [(lot.remaining, lot.expires_at)
            for lot in PointsLot.objects.filter(pk__in=[lot.pk for lot in lots]).order_by("id")]


def sale(store, member, now, order_no="S-1", cash=("1.50",), payment=None):
    lines = tuple(LineInput(line_no=n, sku=f"SKU-{n}", quantity=1, gross_amount=D("100.00"),
                            points_cash=D(c)) for n, c in enumerate(cash, start=1))
    return record_sale(sale=SaleInput(store_code=store.code, order_no=order_no,
                                      member_id=member.pk, ordered_at=now, lines=lines),
                       payment=payment, now=now)


def give_back(store, now, *line_nos, order_no="R-1", sale_order_no="S-1"):
    return record_return(ret=ReturnInput(
        store_code=store.code, order_no=order_no, sale_order_no=sale_order_no, ordered_at=now,
        lines=tuple(ReturnLineInput(line_no=n, quantity=1) for n in line_nos or (1,))), now=now)


def refused(code: str, work) -> PointsError:
    with pytest.raises(PointsError) as caught:
        work()
    assert caught.value.code.value == code, caught.value
    return caught.value


# --- the lots each entry moved ------------------------------------------------------------------

def test_every_entry_records_the_lots_it_moved(member, lots, now):
    paid = points_pay(member_id=member.pk, points=150, reference="k-1", now=now)
    hold = points_hold(member_id=member.pk, points=100, now=now)
    capture = points_hold_capture(hold_id=hold.hold.pk, points=30, now=now)

    def moved(entry):
        return sorted(PointsLotMovement.objects.filter(entry=entry)
                      .values_list("lot_id", "points", "held"))

    first, second, third = (lot.pk for lot in lots)
    # soonest expiry first: all of the first lot, half of the second
    assert moved(paid.movement.entry) == [(first, -100, 0), (second, -50, 0)]
    assert moved(hold.entries[0]) == [(second, -50, 50), (third, -50, 50)]
    # the capture keeps the soonest-expiring part, the release gives back the latest first
    assert [moved(e) for e in capture.entries] == [
        [(second, 0, -30)], [(second, 20, -20), (third, 50, -50)]]
    assert lot_state(lots)[2][0] == 100
    assert_ledger_consistent(member.pk)


def test_lot_movements_are_append_only(member, lots, now):
    points_pay(member_id=member.pk, points=10, now=now)
    for statement in ("UPDATE points_pointslotmovement SET points = 0",
                      "DELETE FROM points_pointslotmovement"):
        with pytest.raises(IntegrityError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)


def test_the_expiry_job_records_what_it_took_from_each_lot(member, lots, now):
    points_pay(member_id=member.pk, points=40, now=now)

    points_expire_due(now=now + timedelta(days=200))

    expiries = PointsEntry.objects.filter(kind=EntryKind.EXPIRE).order_by("lot_id")
    assert [(e.lot_id, e.available_delta) for e in expiries] == [
        (lots[0].pk, -60), (lots[1].pk, -100)]
    assert [list(e.lot_movements.values_list("lot_id", "points")) for e in expiries] == [
        [(lots[0].pk, -60)], [(lots[1].pk, -100)]]
    assert_ledger_consistent(member.pk)


# --- a return gives back what was paid ----------------------------------------------------------

def test_a_spend_paid_sale_returned_gives_the_points_back_into_their_lots(
        store, member, lots, now):
    before = lot_state(lots)
    points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    sold = sale(store, member, now, payment=PaymentRef(spend_key="pay-1"))
    assert (sold.payment.points, sold.payment.order_id, sold.notices) == (150, sold.order.pk, ())
    assert balances(member.pk)["available"] == 150

    ret = give_back(store, now + timedelta(days=2))

    entry = ret.points_cash.entry
    assert (entry.kind, entry.available_delta, entry.source_key) == (
        EntryKind.REFUND, 150, f"return:{ret.order.pk}:points-cash")
    assert lot_state(lots) == before  # the same lots, the same expiry
    assert balances(member.pk)["available"] == 300
    assert_ledger_consistent(member.pk)


def test_a_hold_paid_sale_returned_gives_the_points_back_into_their_lots(
        store, member, lots, now):
    before = lot_state(lots)
    hold = points_hold(member_id=member.pk, points=250, now=now).hold
    points_hold_capture(hold_id=hold.pk, points=200, now=now)
    sold = sale(store, member, now, cash=("2.00",), payment=PaymentRef(hold_id=hold.pk))
    assert sold.payment.hold_id == hold.pk

    ret = give_back(store, now + timedelta(days=2))

    assert ret.points_cash.entry.available_delta == 200
    assert lot_state(lots) == before
    assert balances(member.pk) == {"available": 300, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_partial_returns_give_back_their_share_and_add_up(store, member, lots, now):
    points_pay(member_id=member.pk, points=100, reference="pay-1", now=now)
    sale(store, member, now, cash=("0.33", "0.33", "0.34"), payment=PaymentRef(spend_key="pay-1"))

    given = [give_back(store, now, n, order_no=f"R-{n}").points_cash.entry.available_delta
             for n in (1, 2, 3)]

    # ⌊100 × 0.33 / 1.00⌋ = 33, then ⌊100 × 0.66⌋ − 33 = 33, then the rest
    assert given == [33, 33, 34]
    assert balances(member.pk)["available"] == 300
    assert_ledger_consistent(member.pk)


def test_a_partial_return_gives_back_the_longest_lasting_points_first(
        store, member, lots, now):
    points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    sale(store, member, now, cash=("0.75", "0.75"), payment=PaymentRef(spend_key="pay-1"))

    give_back(store, now, 2)

    # 100 came from the one-month lot and 50 from the three-month lot: those 50 come first
    assert [remaining for remaining, _ in lot_state(lots)] == [25, 100, 100]
    assert_ledger_consistent(member.pk)


def test_points_given_back_to_a_lot_past_its_expiry_expire_at_once(store, member, lots, now):
    points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    sale(store, member, now, payment=PaymentRef(spend_key="pay-1"))
    later = now + timedelta(days=40)  # the one-month lot has expired
    points_expire_due(now=later)

    ret = give_back(store, later)

    assert ret.points_cash.entry.available_delta == 150
    lapsed = PointsEntry.objects.get(source_key=f"expire:return:{ret.order.pk}:lot:{lots[0].pk}")
    assert (lapsed.kind, lapsed.available_delta) == (EntryKind.EXPIRE, -100)
    assert [remaining for remaining, _ in lot_state(lots)] == [0, 100, 100]
    assert balances(member.pk)["available"] == 200
    assert_ledger_consistent(member.pk)


def test_a_replayed_return_gives_nothing_twice(store, member, lots, now):
    points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    sale(store, member, now, payment=PaymentRef(spend_key="pay-1"))
    first = give_back(store, now)

    again = give_back(store, now)

    assert (again.created, again.points_cash.entry.pk) == (False, first.points_cash.entry.pk)
    assert balances(member.pk)["available"] == 300
    assert PointsEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


# --- no payment, no points back -----------------------------------------------------------------

def test_a_forged_points_cash_gives_nothing_back(store, member, lots, now):
    sold = sale(store, member, now, cash=("50.00",))
    assert (sold.payment, sold.notices) == (None, (Notice.POINTS_CASH_NOT_LINKED,))

    ret = give_back(store, now)

    assert (ret.points_cash, ret.notices) == (None, (Notice.POINTS_CASH_NOT_LINKED,))
    assert balances(member.pk)["available"] == 300
    assert not PointsEntry.objects.filter(kind=EntryKind.REFUND).exists()
    assert_ledger_consistent(member.pk)


def test_a_sale_without_points_cash_has_no_notice(store, member, now):
    assert sale(store, member, now, cash=("0.00",)).notices == ()


# --- what a sale may name -----------------------------------------------------------------------

def test_points_cash_must_equal_the_payment_at_its_point_value(store, member, lots, now):
    set_points_settings(points_per_yuan_value=150)
    points_pay(member_id=member.pk, points=299, reference="pay-1", now=now)
    set_points_settings(points_per_yuan_value=100)  # later changes do not matter

    # 299 points at 150 to the yuan are worth ¥1.99 (whole cents, rounded down)
    for wrong in ("2.99", "2.00"):
        refused("points_payment_mismatch",
                lambda wrong=wrong: sale(store, member, now, cash=(wrong,),
                                         payment=PaymentRef(spend_key="pay-1")))
    linked = sale(store, member, now, cash=("1.99",), payment=PaymentRef(spend_key="pay-1"))

    assert (linked.payment.points_per_yuan, linked.payment.cash_value) == (150, D("1.99"))


def test_a_payment_pays_one_order_of_its_own_member(store, member, make_member, lots, now):
    other = make_member()
    points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    hold = points_hold(member_id=member.pk, points=50, now=now).hold
    sale(store, member, now, payment=PaymentRef(spend_key="pay-1"))

    refused("points_payment_taken",
            lambda: sale(store, member, now, order_no="S-2", payment=PaymentRef(spend_key="pay-1")))
    # another member's sale cannot name it: not found by key, another member's by hold
    refused("points_payment_not_found",
            lambda: sale(store, other, now, order_no="S-3", payment=PaymentRef(spend_key="pay-1")))
    refused("points_payment_mismatch",
            lambda: sale(store, member, now, order_no="S-4", cash=("0.50",),
                         payment=PaymentRef(hold_id=hold.pk)))  # not captured yet
    points_hold_capture(hold_id=hold.pk, points=50, now=now)
    refused("points_payment_mismatch",
            lambda: sale(store, other, now, order_no="S-5", cash=("0.50",),
                         payment=PaymentRef(hold_id=hold.pk)))
    refused("points_payment_not_found",
            lambda: sale(store, member, now, order_no="S-6", payment=PaymentRef(spend_key="nope")))
    # nothing of the refused sales was kept
    assert not PointsPayment.objects.filter(order__order_no__in=["S-2", "S-3", "S-4", "S-5"]).exists()


def test_a_spend_key_answers_its_first_payment(member, lots, now):
    first = points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    again = points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)

    assert (again.payment.pk, again.movement.created) == (first.payment.pk, False)
    refused("source_key_conflict",
            lambda: points_pay(member_id=member.pk, points=99, reference="pay-1", now=now))
    assert balances(member.pk)["available"] == 150


# --- coupons on a full return -------------------------------------------------------------------

def test_a_full_return_restores_the_coupons_still_valid(store, member, now):
    valid = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)
    short = coupon_issue(template_id=make_template(now, valid_days=1).pk, member_id=member.pk,
                         now=now)
    for coupon in (valid, short):
        coupon_redeem(code=coupon.code, member_id=member.pk, basket=basket("300.00"),
                      order_no="S-1", now=now)
    sale(store, member, now, cash=("0.00", "0.00"))

    partial = give_back(store, now + timedelta(days=2), 1, order_no="R-1")
    full = give_back(store, now + timedelta(days=2), 2, order_no="R-2")

    assert (partial.coupons_restored, partial.coupons_not_restored) == ((), ())
    assert [c.code for c in full.coupons_restored] == [valid.code]
    assert [(c.code, why) for c, why in full.coupons_not_restored] == [(short.code, "expired")]
    valid.refresh_from_db()
    short.refresh_from_db()
    assert (valid.state, valid.order_no, short.state) == ("issued", "", "redeemed")
    assert list(CouponEvent.objects.filter(coupon=valid).values_list("kind", flat=True)
                .order_by("id")) == ["issued", "redeemed", "restored"]
    # a restored coupon can be used again
    coupon_redeem(code=valid.code, member_id=member.pk, basket=basket("300.00"),
                  order_no="S-9", now=now + timedelta(days=3))
    assert Coupon.objects.get(pk=valid.pk).order_no == "S-9"
    # the replayed return answers what it restored
    replay = give_back(store, now + timedelta(days=2), 2, order_no="R-2")
    assert [c.code for c in replay.coupons_restored] == [valid.code]
