"""Tenders on a sale and what a return gives back to each: cash, stored value (principal and
bonus in the proportions the spend took), gift cards, and the points tender as the linked
points payment. Stored value and gift cards earn like cash."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from loyalty.services.intake import record_return, record_sale
from members.services.orders import LineInput, SaleInput
from points.errors import PointsError
from points.models import (
    EntryKind,
    GiftCard,
    OrderTender,
    PointsEntry,
    StoredValueEntry,
    StoredValueKind,
    TopUpBonusRule,
)
from points.services.gift_cards import gift_card_activate, gift_card_batch_issue
from points.services.payments import PaymentRef, points_pay
from points.services.stored_value import stored_value_top_up
from points.services.tenders import TenderInput
from tests.points.helpers import assert_ledger_consistent, return_input, set_points_settings
from tests.points.stored_value_helpers import assert_stored_value_consistent, sv_balances

D = Decimal


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def card(db, now):
    issued = gift_card_batch_issue(name="b", face_value="100", quantity=1, now=now).cards[0]
    gift_card_activate(code=issued.code, key="act", now=now)
    return issued


def three_units(store, member, now, order_no="S1", points_cash="0.00") -> SaleInput:
    return SaleInput(store_code=store.code, order_no=order_no, member_id=member.pk,
                     ordered_at=now, lines=(LineInput(line_no=1, sku="TEA", quantity=3,
                                                      gross_amount=D("300.00") + D(points_cash),
                                                      points_cash=D(points_cash)),))


def tenders(card) -> tuple[TenderInput, ...]:
    return (TenderInput(kind="cash", amount=D("100")),
            TenderInput(kind="stored_value", amount=D("150")),
            TenderInput(kind="gift_card", amount=D("50"), gift_card_code=card.code,
                        gift_card_pin=card.pin))


def given_back(ret_order) -> dict[str, Decimal]:
    return {t.kind: t.amount for t in OrderTender.objects.filter(order=ret_order)}


def test_a_return_refunds_the_tenders_that_paid_in_proportion(store, member, now, card):
    TopUpBonusRule.objects.create(name="充500送50", min_amount=D("500"), bonus=D("50"))
    stored_value_top_up(member_id=member.pk, amount="500", key="top", now=now)  # 500 + 50
    sale = record_sale(sale=three_units(store, member, now), tenders=tenders(card), now=now)
    assert {t.kind: t.amount for t in sale.tenders} == {
        "cash": D("100.00"), "stored_value": D("150.00"), "gift_card": D("50.00")}
    spend = StoredValueEntry.objects.get(kind=StoredValueKind.SPEND)
    assert (spend.principal_delta, spend.bonus_delta) == (D("-100.00"), D("-50.00"))
    assert GiftCard.objects.get(code=card.code).balance == D("50.00")
    assert sv_balances(member.pk) == (D("400.00"), D("0.00"))

    first = record_return(ret=return_input(store, now, "R1", "S1", quantity=1), now=now)
    assert given_back(first.order) == {"cash": D("33.33"), "stored_value": D("50.00"),
                                       "gift_card": D("16.67")}
    assert sum(given_back(first.order).values()) == first.order.net_amount == D("100.00")
    back = StoredValueEntry.objects.get(kind=StoredValueKind.RETURN, order=first.order)
    # the spend took 2/3 principal, 1/3 bonus: so does the give-back (bonus rounded down)
    assert (back.principal_delta, back.bonus_delta) == (D("33.34"), D("16.66"))
    assert GiftCard.objects.get(code=card.code).balance == D("66.67")

    rest = record_return(ret=return_input(store, now, "R2", "S1", quantity=2), now=now)
    assert given_back(rest.order) == {"cash": D("66.67"), "stored_value": D("100.00"),
                                      "gift_card": D("33.33")}
    # everything is back where it came from
    assert sv_balances(member.pk) == (D("500.00"), D("50.00"))
    assert GiftCard.objects.get(code=card.code).balance == D("100.00")
    assert_stored_value_consistent(member.pk)
    # a replayed return gives nothing back twice
    again = record_return(ret=return_input(store, now, "R2", "S1", quantity=2), now=now)
    assert again.created is False and {t.kind for t in again.tenders} == {
        "cash", "stored_value", "gift_card"}
    assert sv_balances(member.pk) == (D("500.00"), D("50.00"))


def test_stored_value_and_gift_cards_earn_like_cash(store, member, make_member, now, card):
    set_points_settings(pending_days=0)
    stored_value_top_up(member_id=member.pk, amount="500", key="top", now=now)
    tendered = record_sale(sale=three_units(store, member, now), tenders=tenders(card), now=now)
    other = make_member()
    cash = record_sale(sale=three_units(store, other, now, order_no="S2"), now=now)
    assert tendered.points.entry.available_delta == cash.points.entry.available_delta > 0
    # no points at a top-up
    assert not PointsEntry.objects.filter(member_id=member.pk).exclude(
        order=tendered.order).exists()


def test_tenders_must_add_up_to_the_net_amount_and_nothing_is_taken_otherwise(
        store, member, now, card):
    stored_value_top_up(member_id=member.pk, amount="500", key="top", now=now)
    short = (TenderInput(kind="cash", amount=D("100")),
             TenderInput(kind="stored_value", amount=D("150")))
    with pytest.raises(PointsError) as exc:
        record_sale(sale=three_units(store, member, now), tenders=short, now=now)
    assert exc.value.code.value == "tenders_do_not_add_up"
    too_much = (TenderInput(kind="stored_value", amount=D("300")),)
    stored_value_top_up(member_id=member.pk, amount="1", key="top2", now=now)
    with pytest.raises(PointsError) as exc:  # 501 in the account: enough; card wrong PIN
        record_sale(sale=three_units(store, member, now),
                    tenders=(TenderInput(kind="stored_value", amount=D("250")),
                             TenderInput(kind="gift_card", amount=D("50"),
                                         gift_card_code=card.code, gift_card_pin="x")),
                    now=now)
    assert exc.value.code.value == "gift_card_not_found"
    assert sv_balances(member.pk) == (D("501.00"), D("0.00"))  # the spend was rolled back
    sale = record_sale(sale=three_units(store, member, now), tenders=too_much, now=now)
    assert sale.created
    with pytest.raises(Exception) as exc:  # the same number with other tenders is refused
        record_sale(sale=three_units(store, member, now), tenders=short[:1], now=now)
    assert exc.value.code.value == "order_number_conflict"


def test_the_points_tender_is_the_linked_payment_and_comes_back_on_return(
        store, member, now):
    from django.contrib.auth.models import User

    from points.services.ledger import points_adjust

    operator = User.objects.create(username="ops")
    points_adjust(member_id=member.pk, points=1000, operator_id=operator.pk, reason="start",
                  now=now)
    pay = points_pay(member_id=member.pk, points=500, reference="pay-1", now=now).payment
    sale = record_sale(
        sale=three_units(store, member, now, points_cash="5.00"),
        payment=PaymentRef(payment_id=pay.pk),
        tenders=(TenderInput(kind="cash", amount=D("300")),
                 TenderInput(kind="points", amount=D("5.00"))), now=now)
    points = [t for t in sale.tenders if t.kind == "points"]
    assert len(points) == 1 and points[0].points_payment_id == pay.pk
    assert points[0].amount == D("5.00")
    ret = record_return(ret=return_input(store, now, "R1", "S1", quantity=3), now=now)
    assert given_back(ret.order) == {"cash": D("300.00"), "points": D("5.00")}
    assert PointsEntry.objects.filter(kind=EntryKind.REFUND, order=ret.order).get(
        ).available_delta == 500
    assert_ledger_consistent(member.pk)


def test_a_points_tender_without_the_payment_is_refused(store, member, now):
    with pytest.raises(PointsError) as exc:
        record_sale(sale=three_units(store, member, now, points_cash="5.00"),
                    tenders=(TenderInput(kind="cash", amount=D("300")),
                             TenderInput(kind="points", amount=D("5.00"))), now=now)
    assert exc.value.code.value == "points_tender_mismatch"


def test_bonus_given_back_after_its_lot_expired_expires_again_at_once(store, member, now):
    from datetime import timedelta

    TopUpBonusRule.objects.create(name="充500送50", min_amount=D("500"), bonus=D("50"),
                                  bonus_valid_days=30)
    stored_value_top_up(member_id=member.pk, amount="500", key="top", now=now)
    record_sale(sale=three_units(store, member, now),
                tenders=(TenderInput(kind="stored_value", amount=D("300")),), now=now)
    later = now + timedelta(days=40)
    record_return(ret=return_input(store, later, "R1", "S1", quantity=1), now=later)
    record_return(ret=return_input(store, later, "R2", "S1", quantity=2), now=later)
    # ¥50 of bonus came back into its lot, past its date: expired again, twice over
    assert sv_balances(member.pk) == (D("500.00"), D("0.00"))
    expired = StoredValueEntry.objects.filter(kind=StoredValueKind.EXPIRE)
    assert sum(e.bonus_delta for e in expired) == D("-50.00")
    assert_stored_value_consistent(member.pk)
