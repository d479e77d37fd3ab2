"""The checkout commit (loyalty.services.checkout_commit): coupon, points as cash, gifts and the sale
in one transaction — all of it or none — idempotent by the caller's key, and exact under
racing tills."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from core.errors import LoyaltyError
from loyalty.services.checkout_commit import CheckoutInput, CheckoutLine, GiftPick, checkout_commit
from loyalty.services.intake import record_return
from members.models import Order
from members.services.orders import ReturnInput, ReturnLineInput
from points.models import (
    Coupon,
    EntryKind,
    PointsEntry,
    PointsPayment,
    Reward,
    RewardRedemption,
)
from points.services.coupons import coupon_issue
from tests.points.catalog_helpers import give_points, make_reward, make_template
from tests.points.helpers import assert_ledger_consistent, balances, set_points_settings
from tests.races import run_at_once

D = Decimal


@pytest.fixture(autouse=True)
def settings_for_checkout(default_earning_rules):
    """1 point per yuan, pending for the return window, 100 points to the yuan, at most half
    of an order."""
    set_points_settings(pending_days=7, points_per_yuan_value=100, points_max_order_share=50)


def purchase(member, store, now, *, order_no="S-1", coupon="", points=0, gifts=(),
             lines=(("TEA", "150.00"), ("CUP", "50.00"))) -> CheckoutInput:
    return CheckoutInput(
        member_id=member.pk, store_code=store.code, order_no=order_no, ordered_at=now,
        lines=tuple(CheckoutLine(sku=sku, quantity=1, amount=D(amount)) for sku, amount in lines),
        coupon_code=coupon, points=points, gifts=tuple(GiftPick(reward_id=r) for r in gifts))


def code_of(error: Exception) -> str:
    return error.code.value if isinstance(error, LoyaltyError) else repr(error)


def refused(code: str, work) -> None:
    with pytest.raises(LoyaltyError) as caught:
        work()
    assert code_of(caught.value) == code, caught.value


@pytest.fixture
def shop(member, now):
    give_points(member.pk, 1000, now)
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)
    gift = make_reward(now, name="杯垫", points_cost=100, stock=3)
    return coupon, gift


def test_a_purchase_commits_coupon_points_gift_and_sale_together(member, store, now, shop):
    coupon, gift = shop

    done = checkout_commit(checkout=purchase(member, store, now, coupon=coupon.code, points=500,
                                             gifts=[gift.pk]), key="till-1", now=now)

    order = done.sale.order
    # ¥200 less the ¥30 coupon = ¥170, of which ¥5.00 paid with 500 points; each line bears
    # its share: tea 150 − 22.50 − 3.75, cup 50 − 7.50 − 1.25
    assert (order.gross_amount, order.coupon_discount, order.points_cash, order.net_amount) == (
        D("200.00"), D("30.00"), D("5.00"), D("165.00"))
    assert [(line.coupon_discount, line.points_cash, line.net_amount)
            for line in order.lines.order_by("line_no")] == [
        (D("22.50"), D("3.75"), D("123.75")), (D("7.50"), D("1.25"), D("41.25"))]
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_no, coupon.discount) == ("redeemed", "S-1", D("30.00"))
    assert (done.payment.points, done.payment.order_id) == (500, order.pk)
    assert [(r.reward_id, r.points, r.state) for r in done.redemptions] == [
        (gift.pk, 100, "ordered")]
    assert Reward.objects.get(pk=gift.pk).stock == 2
    # earned on the ¥165 actually paid, pending for the return window
    assert done.sale.points.entry.pending_delta == 165
    assert balances(member.pk) == {"available": 400, "pending": 165, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_the_same_key_answers_the_first_purchase(member, store, now, shop):
    coupon, gift = shop
    checkout = purchase(member, store, now, coupon=coupon.code, points=500, gifts=[gift.pk])
    first = checkout_commit(checkout=checkout, key="till-1", now=now)

    again = checkout_commit(checkout=checkout, key="till-1", now=now + timedelta(minutes=1))

    assert (again.created, again.sale.order.pk, again.payment.pk, again.coupon.pk) == (
        False, first.sale.order.pk, first.payment.pk, coupon.pk)
    assert [r.pk for r in again.redemptions] == [r.pk for r in first.redemptions]
    assert balances(member.pk)["available"] == 400
    assert Order.objects.count() == 1
    refused("source_key_conflict", lambda: checkout_commit(
        checkout=purchase(member, store, now, points=400), key="till-1", now=now))


@pytest.mark.parametrize("case", ["coupon used", "points short", "out of stock",
                                  "over the share", "store unknown"])
def test_a_refusal_rolls_everything_back(member, make_member, store, now, shop, case):
    coupon, gift = shop
    options = {"coupon": coupon.code, "points": 500, "gifts": [gift.pk]}
    expected = {"coupon used": "coupon_not_usable", "points short": "insufficient_points",
                "out of stock": "out_of_stock", "over the share": "points_over_order_share",
                "store unknown": "store_not_found"}[case]
    if case == "coupon used":
        Coupon.objects.filter(pk=coupon.pk).update(state="voided")
    elif case == "points short":
        options["points"] = 1001
    elif case == "out of stock":
        Reward.objects.filter(pk=gift.pk).update(stock=0)
    elif case == "over the share":
        give_points(member.pk, 10_000, now)
        options["points"] = 8501  # ¥85.01 of the ¥170 left after the coupon
    else:
        store.code = "NOWHERE"
    before = (balances(member.pk), Reward.objects.get(pk=gift.pk).stock,
              Coupon.objects.get(pk=coupon.pk).state)

    refused(expected, lambda: checkout_commit(checkout=purchase(member, store, now, **options),
                                              key="till-1", now=now))

    assert (balances(member.pk), Reward.objects.get(pk=gift.pk).stock,
            Coupon.objects.get(pk=coupon.pk).state) == before
    assert not Order.objects.exists()
    assert not PointsPayment.objects.exists()
    assert not RewardRedemption.objects.exists()
    assert_ledger_consistent(member.pk)


def test_points_may_pay_exactly_the_share(member, store, now, shop):
    coupon, _gift = shop
    give_points(member.pk, 10_000, now)

    done = checkout_commit(checkout=purchase(member, store, now, coupon=coupon.code,
                                             points=8500), key="till-1", now=now)

    assert done.sale.order.points_cash == D("85.00")


def test_a_committed_purchase_returned_gives_back_points_and_coupon(member, store, now, shop):
    coupon, _gift = shop
    checkout_commit(checkout=purchase(member, store, now, coupon=coupon.code, points=500),
                    key="till-1", now=now)

    ret = record_return(ret=ReturnInput(
        store_code=store.code, order_no="R-1", sale_order_no="S-1", ordered_at=now,
        lines=(ReturnLineInput(1, 1), ReturnLineInput(2, 1))), now=now + timedelta(days=1))

    assert ret.points_cash.entry.available_delta == 500
    assert [c.code for c in ret.coupons_restored] == [coupon.code]
    assert balances(member.pk) == {"available": 1000, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


# --- racing tills ---------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_thirty_racing_commits_never_overdraw_points_stock_or_coupons(make_member, store, now):
    set_points_settings(pending_days=7, points_per_yuan_value=100, points_max_order_share=50)
    members = [make_member() for _ in range(3)]
    coupons = {}
    template = make_template(now)
    for m in members:
        give_points(m.pk, 1000, now)
        coupons[m.pk] = coupon_issue(template_id=template.pk, member_id=m.pk, now=now).code
    gift = make_reward(now, name="杯垫", points_cost=100, stock=4)

    def till(i: int):
        m = members[i % 3]
        # every other till uses the member's one coupon; each takes 400 points and a gift
        return checkout_commit(checkout=purchase(
            m, store, now, order_no=f"S-{i}", coupon=coupons[m.pk] if i % 2 else "",
            points=400, gifts=[gift.pk]), key=f"till-{i}", now=now)

    results = run_at_once(till, n=30)

    won = [r for kind, r in results if kind == "ok"]
    lost = Counter(code_of(r) for kind, r in results if kind == "error")
    assert set(lost) <= {"coupon_not_usable", "insufficient_points", "out_of_stock"}, lost
    # 4 gifts in stock, and each member can pay for 2 purchases: exactly 4 go through (a
    # member short of a purchase always had a till without a coupon that found stock)
    assert len(won) == 4 and lost["out_of_stock"] >= 4, lost
    # stock: never below zero, and exactly what was taken
    taken = RewardRedemption.objects.aggregate(s=Sum("quantity"))["s"] or 0
    assert Reward.objects.get(pk=gift.pk).stock == 4 - taken >= 0
    assert taken == len(won)
    # coupons: each used at most once, by a purchase that went through
    redeemed = Counter(Coupon.objects.filter(state="redeemed").values_list("order_no", flat=True))
    assert all(n == 1 for n in redeemed.values())
    assert set(redeemed) <= {o.sale.order.order_no for o in won}
    # points: nobody spent more than they had; every success paid and is linked
    for m in members:
        spent = -(PointsEntry.objects.filter(member_id=m.pk, kind=EntryKind.SPEND)
                  .aggregate(s=Sum("available_delta"))["s"] or 0)
        assert spent <= 1000
        assert balances(m.pk)["available"] == 1000 - spent
        assert_ledger_consistent(m.pk)
    assert Order.objects.count() == PointsPayment.objects.filter(
        order__isnull=False).count() == len(won)


def test_a_purchase_paid_with_tenders_takes_stored_value_and_gives_it_back_on_return(
        member, store, now, shop):
    from dataclasses import replace

    from points.models import OrderTender, StoredValueEntry
    from points.services.stored_value import stored_value_top_up
    from points.services.tenders import TenderInput
    from tests.points.stored_value_helpers import sv_balances

    give_points(member.pk, 1000, now)
    stored_value_top_up(member_id=member.pk, amount="300", key="top", now=now)
    checkout = replace(purchase(member, store, now, points=500), tenders=(
        TenderInput(kind="cash", amount=D("45.00")),
        TenderInput(kind="stored_value", amount=D("150.00"))))
    outcome = checkout_commit(checkout=checkout, key="till-1", now=now)
    tenders = {t.kind: t.amount for t in outcome.sale.tenders}
    assert tenders == {"cash": D("45.00"), "stored_value": D("150.00"), "points": D("5.00")}
    assert outcome.sale.order.net_amount == D("195.00")
    assert sv_balances(member.pk) == (D("150.00"), D("0.00"))
    replay = checkout_commit(checkout=checkout, key="till-1", now=now)
    assert replay.created is False and {t.kind for t in replay.sale.tenders} == set(tenders)
    # tenders that do not add up refuse the purchase and take nothing
    short = replace(checkout, order_no="S-2", tenders=checkout.tenders[:1])
    refused("tenders_do_not_add_up", lambda: checkout_commit(checkout=short, key="till-2",
                                                             now=now))
    assert sv_balances(member.pk) == (D("150.00"), D("0.00"))
    ret = record_return(ret=ReturnInput(store_code=store.code, order_no="R-1",
                                        sale_order_no="S-1", ordered_at=now,
                                        lines=(ReturnLineInput(line_no=1, quantity=1),
                                               ReturnLineInput(line_no=2, quantity=1))),
                        now=now)
    back = {t.kind: t.amount for t in OrderTender.objects.filter(order=ret.order)}
    assert back == {"cash": D("45.00"), "stored_value": D("150.00"), "points": D("5.00")}
    assert sv_balances(member.pk) == (D("300.00"), D("0.00"))
    assert StoredValueEntry.objects.filter(order=ret.order).count() == 1
    assert_ledger_consistent(member.pk)
