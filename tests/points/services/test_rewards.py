"""The rewards catalog: redeeming spends points, takes stock and respects the window, the
tags and the per-member limit; goods are fulfilled or cancelled with the points returned."""

from __future__ import annotations

from datetime import timedelta

import pytest

from points.errors import PointsError
from points.models import Coupon, CouponEvent, EntryKind, PointsEntry, Reward, RewardRedemption
from points.selectors.rewards import rewards_for_member
from points.services.rewards import (
    redemption_advance,
    redemption_cancel,
    reward_redeem,
    reward_save,
)
from tests.points.catalog_helpers import give_points, make_reward, make_template, tag_member
from tests.points.helpers import assert_ledger_consistent, balances

pytestmark = pytest.mark.django_db


def snapshot(member_id: int, reward: Reward) -> tuple:
    reward.refresh_from_db()
    return (balances(member_id), reward.stock, RewardRedemption.objects.count(),
            PointsEntry.objects.count(), Coupon.objects.count())


def test_redeeming_goods_spends_points_and_takes_stock(member, store, now):
    give_points(member.pk, 1200, now)
    reward = make_reward(now, points_cost=500, stock=10)
    redemption = reward_redeem(member_id=member.pk, reward_id=reward.pk, quantity=2,
                               store_code=store.code, source_key="r1", now=now)
    reward.refresh_from_db()
    assert reward.stock == 8
    assert redemption.points == 1000 and redemption.state == "ordered"
    assert redemption.fulfilment == "pickup" and redemption.store == store
    assert redemption.spend_entry.available_delta == -1000
    assert balances(member.pk)["available"] == 200
    assert_ledger_consistent(member.pk)


def test_the_same_source_key_returns_the_first_redemption(member, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now, points_cost=100, stock=5)
    first = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="k", now=now)
    again = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="k", now=now)
    assert again.pk == first.pk
    reward.refresh_from_db()
    assert reward.stock == 4 and balances(member.pk)["available"] == 900
    with pytest.raises(PointsError) as err:
        reward_redeem(member_id=member.pk, reward_id=reward.pk, quantity=2, source_key="k",
                      now=now)
    assert err.value.code.value == "source_key_conflict"


def test_a_coupon_reward_issues_its_coupon_at_once(member, now):
    give_points(member.pk, 500, now)
    template = make_template(now, valid_days=7)
    reward = make_reward(now, kind="coupon", coupon_template=template, points_cost=300)
    redemption = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="c", now=now)
    assert redemption.state == "delivered" and redemption.fulfilment == "coupon"
    coupon = redemption.coupon
    assert coupon.member_id == member.pk and coupon.state == "issued"
    assert coupon.valid_until == now + timedelta(days=7)
    assert list(CouponEvent.objects.filter(coupon=coupon).values_list("kind", flat=True)) == [
        "issued"]
    assert balances(member.pk)["available"] == 200


@pytest.mark.parametrize("case, code", [
    ("not started", "reward_not_available"),
    ("ended", "reward_not_available"),
    ("inactive", "reward_not_available"),
    ("not eligible", "reward_not_eligible"),
    ("out of stock", "out_of_stock"),
    ("over the limit", "reward_limit_reached"),
    ("short of points", "insufficient_points"),
    ("pickup at no store", "pickup_store_required"),
])
def test_refusals_change_nothing(member, now, case, code):
    give_points(member.pk, 250, now)
    fields = {"points_cost": 100, "stock": 3, "per_member_limit": 2}
    if case == "not started":
        fields["starts_at"] = now + timedelta(minutes=1)
    elif case == "ended":
        fields["starts_at"], fields["ends_at"] = now - timedelta(days=2), now
    elif case == "inactive":
        fields["is_active"] = False
    elif case == "not eligible":
        fields["tags"] = [tag_member(member.pk, "tier-gold", now).pk]
        tag_member(member.pk, "tier-silver", now)
        from members.models import MemberTag
        MemberTag.objects.filter(member_id=member.pk, tag__code="tier-gold").delete()
    elif case == "out of stock":
        fields["stock"] = 1
    elif case == "short of points":
        fields["points_cost"] = 251
        fields["per_member_limit"] = None
    reward = make_reward(now, **fields)
    quantity = {"out of stock": 2, "over the limit": 3}.get(case, 1)
    before = snapshot(member.pk, reward)
    with pytest.raises(PointsError) as err:
        reward_redeem(member_id=member.pk, reward_id=reward.pk, quantity=quantity,
                      fulfilment="pickup" if case == "pickup at no store" else None,
                      source_key=f"bad:{case}", now=now)
    assert err.value.code.value == code
    assert snapshot(member.pk, reward) == before


def test_eligibility_by_tier_tag_and_the_catalog_a_member_sees(member, make_member, now):
    gold = make_member()
    give_points(gold.pk, 500, now)
    tag = tag_member(gold.pk, "tier-gold", now)
    open_to_all = make_reward(now, name="所有人")
    gold_only = make_reward(now, name="黄金专享", tags=[tag.pk])
    make_reward(now, name="已结束", ends_at=now)
    assert list(rewards_for_member(member_id=gold.pk, now=now)) == [open_to_all, gold_only]
    assert list(rewards_for_member(member_id=member.pk, now=now)) == [open_to_all]
    reward_redeem(member_id=gold.pk, reward_id=gold_only.pk, source_key="g", now=now)
    assert balances(gold.pk)["available"] == 400


def test_the_limit_counts_units_and_ignores_cancelled(member, store, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now, per_member_limit=2)
    first = reward_redeem(member_id=member.pk, reward_id=reward.pk, quantity=2,
                          store_code=store.code, source_key="a", now=now)
    with pytest.raises(PointsError):
        reward_redeem(member_id=member.pk, reward_id=reward.pk, store_code=store.code,
                      source_key="b", now=now)
    redemption_cancel(redemption_id=first.pk, reason="客户取消", now=now)
    reward_redeem(member_id=member.pk, reward_id=reward.pk, store_code=store.code,
                  source_key="c", now=now)


def test_fulfilment_pickup_and_shipping(member, store, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now)
    pickup = reward_redeem(member_id=member.pk, reward_id=reward.pk, store_code=store.code,
                           source_key="p", now=now)
    shipped = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="s", now=now)
    assert shipped.fulfilment == "shipping"
    with pytest.raises(PointsError) as err:
        redemption_advance(redemption_id=pickup.pk, state="shipped", now=now)
    assert err.value.code.value == "redemption_state"
    with pytest.raises(PointsError):
        redemption_advance(redemption_id=pickup.pk, state="delivered", now=now)
    assert redemption_advance(redemption_id=pickup.pk, state="ready", now=now).state == "ready"
    delivered = redemption_advance(redemption_id=pickup.pk, state="delivered", now=now)
    assert delivered.state == "delivered"
    done = redemption_advance(redemption_id=shipped.pk, state="shipped", tracking_no="SF123",
                              now=now)
    assert done.tracking_no == "SF123"
    redemption_advance(redemption_id=shipped.pk, state="delivered", now=now)
    with pytest.raises(PointsError):
        redemption_cancel(redemption_id=shipped.pk, reason="太晚了", now=now)


def test_cancelling_returns_points_with_a_new_entry_and_the_stock(member, now):
    give_points(member.pk, 300, now)
    reward = make_reward(now, points_cost=200, stock=1)
    redemption = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="x", now=now)
    assert balances(member.pk)["available"] == 100
    later = now + timedelta(days=1)
    cancelled = redemption_cancel(redemption_id=redemption.pk, reason="缺货", now=later)
    assert cancelled.state == "cancelled"
    refund = cancelled.refund_entry
    assert refund.kind == EntryKind.REFUND and refund.available_delta == 200
    assert refund.created_at == later
    # the reason typed is a note beside the entry; the entry keeps the system's label
    assert (refund.reason, refund.note.text) == ("reward cancelled", "缺货")
    reward.refresh_from_db()
    assert reward.stock == 1
    assert balances(member.pk)["available"] == 300
    assert_ledger_consistent(member.pk)
    with pytest.raises(PointsError) as err:
        redemption_cancel(redemption_id=redemption.pk, reason="again", now=later)
    assert err.value.code.value == "redemption_state"
    assert PointsEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


def test_coupon_redemptions_cannot_be_cancelled(member, now):
    give_points(member.pk, 300, now)
    reward = make_reward(now, kind="coupon", coupon_template=make_template(now))
    redemption = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="c", now=now)
    with pytest.raises(PointsError):
        redemption_cancel(redemption_id=redemption.pk, reason="x", now=now)


def test_stock_only_grows_through_the_service(member, now):
    """An edit never writes the stock it read: units redeemed meanwhile stay taken, added
    units are added to what is left, and taking units away is refused."""
    give_points(member.pk, 1000, now)
    reward = make_reward(now, stock=10)
    edited = Reward.objects.get(pk=reward.pk)  # the operator's page, opened now
    reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="r-1", now=now)
    edited.name = "新保温杯"
    assert reward_save(reward=edited, add_stock=5, now=now).stock == 14  # 10 - 1 + 5
    for units in (0, -3):
        with pytest.raises(PointsError) as err:
            reward_save(reward=edited, add_stock=units, now=now)
        assert err.value.code.value == "reward_stock_only_grows"
    assert Reward.objects.get(pk=reward.pk).stock == 14
    unlimited = make_reward(now)
    unlimited.stock = 3
    assert reward_save(reward=unlimited, now=now).stock == 3  # a first stock
    unlimited.stock = 50
    assert reward_save(reward=unlimited, now=now).stock == 3  # not overwritten once set
