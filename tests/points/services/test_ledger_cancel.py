"""Cancelling a spend: points go back to the lots they came from with their own expiry;
a lot already past its date expires them at once; a spend that paid an order is refused
(409 spend_paid_order), and a cancelled spend cannot pay an order (422
points_payment_mismatch) — also when the two race."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from loyalty.services.intake import record_sale
from members.services.orders import LineInput, SaleInput
from points.errors import PointsError
from points.models import EarningRule, EntryKind, PointsEntry, PointsLot
from points.services.ledger import points_adjust, points_expire_due, points_spend
from points.services.payments import PaymentRef, points_pay
from points.services.rewards import reward_redeem
from points.services.spend_cancel import points_spend_cancel
from tests.points.catalog_helpers import make_reward
from tests.points.helpers import assert_ledger_consistent, balances, set_points_settings
from tests.races import run_at_once

D = Decimal


@pytest.fixture(autouse=True)
def no_earning(default_earning_rules):
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


def sale(store, member, now, order_no="S-1", cash="1.50", payment=None):
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-1", quantity=1, gross_amount=D("100.00"),
                         points_cash=D(cash)),)), payment=payment, now=now)


def refused(code: str, status: int, work) -> PointsError:
    with pytest.raises(PointsError) as caught:
        work()
    assert (caught.value.code.value, caught.value.status) == (code, status), caught.value
    return caught.value


def test_cancel_returns_the_points_to_their_lots_with_their_expiry(member, lots, operator, now):
    before = lot_state(lots)
    spend = points_spend(member_id=member.pk, points=150, now=now).entry
    assert balances(member.pk)["available"] == 150

    cancelled = points_spend_cancel(member_id=member.pk, entry_id=spend.pk, note="误操作",
                                    operator_id=operator.pk, now=now + timedelta(days=1))

    entry = cancelled.entry
    assert (entry.kind, entry.available_delta, entry.source_key) == (
        EntryKind.CANCEL, 150, f"cancel:entry:{spend.pk}")
    assert entry.note.text == "误操作" and entry.operator_id == operator.pk
    assert lot_state(lots) == before  # the same lots, the same expiry dates
    assert balances(member.pk)["available"] == 300
    assert_ledger_consistent(member.pk)
    # once: the same cancellation again answers the first
    again = points_spend_cancel(member_id=member.pk, entry_id=spend.pk, now=now + timedelta(days=2))
    assert not again.created and again.entry.pk == entry.pk
    assert balances(member.pk)["available"] == 300


def test_points_back_in_a_lot_past_its_date_expire_at_once(member, lots, now):
    set_points_settings(spend_cancel_days=60)
    spend = points_spend(member_id=member.pk, points=150, now=now).entry  # 100 + 50
    later = now + timedelta(days=40)  # the one-month lot is past its date
    points_expire_due(now=later)  # nothing left in it to expire
    assert balances(member.pk)["available"] == 150

    points_spend_cancel(member_id=member.pk, entry_id=spend.pk, now=later)

    expired = PointsEntry.objects.get(member_id=member.pk, kind=EntryKind.EXPIRE)
    assert (expired.available_delta, expired.lot_id) == (-100, lots[0].pk)
    assert expired.source_key == f"expire:cancel:{spend.pk}:lot:{lots[0].pk}"
    assert [r for r, _e in lot_state(lots)] == [0, 100, 100]
    assert balances(member.pk)["available"] == 200
    assert_ledger_consistent(member.pk)


def test_a_cancel_only_within_the_window(member, lots, now):
    spend = points_spend(member_id=member.pk, points=10, now=now).entry
    refused("spend_cancel_window_over", 409,
            lambda: points_spend_cancel(member_id=member.pk, entry_id=spend.pk,
                                        now=now + timedelta(days=31)))
    set_points_settings(spend_cancel_days=0)
    refused("spend_cancel_window_over", 409,
            lambda: points_spend_cancel(member_id=member.pk, entry_id=spend.pk, now=now))
    assert balances(member.pk)["available"] == 290


def test_only_a_members_own_spends_are_cancelled(member, make_member, lots, operator, now):
    other = make_member()
    spend = points_spend(member_id=member.pk, points=10, now=now).entry
    refused("spend_not_found", 404,
            lambda: points_spend_cancel(member_id=other.pk, entry_id=spend.pk, now=now))
    earned = PointsEntry.objects.filter(member_id=member.pk, kind=EntryKind.ADJUST).first()
    refused("spend_not_found", 404,
            lambda: points_spend_cancel(member_id=member.pk, entry_id=earned.pk, now=now))
    # an integrator finds only the spends it made as payments
    paid = points_pay(member_id=member.pk, points=5, reference="k", owner_id=operator.pk,
                      now=now)
    refused("spend_not_found", 404,
            lambda: points_spend_cancel(member_id=member.pk, entry_id=spend.pk,
                                        owner_id=operator.pk, owned_only=True, now=now))
    intruder = User.objects.create(username="other-integrator")
    refused("spend_not_found", 404,
            lambda: points_spend_cancel(member_id=member.pk, entry_id=paid.movement.entry.pk,
                                        owner_id=intruder.pk, owned_only=True, now=now))
    assert points_spend_cancel(member_id=member.pk, entry_id=paid.movement.entry.pk,
                               owner_id=operator.pk, owned_only=True, now=now).created


def test_a_spend_that_paid_an_order_is_not_cancelled(store, member, lots, now):
    paid = points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    sale(store, member, now, payment=PaymentRef(spend_key="pay-1"))

    error = refused("spend_paid_order", 409,
                    lambda: points_spend_cancel(member_id=member.pk,
                                                entry_id=paid.movement.entry.pk, now=now))
    assert error.params["order_no"] == "S-1"
    assert balances(member.pk)["available"] == 150
    assert not PointsEntry.objects.filter(kind=EntryKind.CANCEL).exists()


def test_a_cancelled_spend_cannot_pay_an_order(store, member, lots, now):
    paid = points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)
    points_spend_cancel(member_id=member.pk, entry_id=paid.movement.entry.pk, now=now)

    refused("points_payment_mismatch", 422,
            lambda: sale(store, member, now, payment=PaymentRef(spend_key="pay-1")))
    assert balances(member.pk)["available"] == 300
    assert_ledger_consistent(member.pk)


def test_a_reward_spend_is_cancelled_on_its_redemption(member, lots, now):
    reward = make_reward(now, stock=5)
    redemption = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="r-1",
                               now=now)
    refused("spend_has_record", 409,
            lambda: points_spend_cancel(member_id=member.pk,
                                        entry_id=redemption.spend_entry_id, now=now))


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_the_sale_that_names_it_one_wins(store, member, operator, now):
    EarningRule.objects.update(is_active=False)
    points_adjust(member_id=member.pk, points=300, operator_id=operator.pk, reason="credit",
                  now=now)
    paid = points_pay(member_id=member.pk, points=150, reference="pay-1", now=now)

    def work(i: int):
        if i % 2:
            return points_spend_cancel(member_id=member.pk, entry_id=paid.movement.entry.pk,
                                       now=now)
        return sale(store, member, now, order_no=f"S-{i}", payment=PaymentRef(spend_key="pay-1"))

    results = run_at_once(work, n=20)

    codes = sorted(r.code.value for kind, r in results if kind == "error")
    wins = [r for kind, r in results if kind == "ok"]
    cancelled = PointsEntry.objects.filter(kind=EntryKind.CANCEL).exists()
    if cancelled:  # the cancel came first: every sale is refused
        assert codes == ["points_payment_mismatch"] * 10 and len(wins) == 10
        assert balances(member.pk)["available"] == 300
    else:  # a sale came first: it alone is linked, every cancel is refused
        assert codes == sorted(["spend_paid_order"] * 10 + ["points_payment_taken"] * 9)
        assert balances(member.pk)["available"] == 150
    assert_ledger_consistent(member.pk)
