"""Benefits the system applies (DESIGN §2.3): the points multiplier earning gets from the
intake, and the discount rate the checkout preview asks for — the better of the tier's and
the active paid plan's, never stacked — and the multiplier's extra points recorded for the
cost per tier."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from loyalty.services.intake import record_activity
from members.services.activity import ActivityInput
from points.models import PointsEntry
from tests.points.services.test_rules import make_rule
from tiers.models.benefits import MultiplierBonus
from tiers.selectors.benefits import member_benefits, member_discount_rate, member_points_multiplier
from tiers.services.paid import paid_purchase

from ..helpers import attach, benefit, plan
from .test_ladder import register, sell

D = Decimal


def earned_points(order) -> int:
    entry = PointsEntry.objects.get(order=order, kind="earn")
    return entry.available_delta + entry.pending_delta


@pytest.fixture
def ladder_benefits(db):
    double = benefit("double-points", "points_multiplier")
    attach(double, tier="silver", multiplier=D("1.5"))
    attach(double, tier="gold", multiplier=D("2"))
    discount = benefit("member-price", "tier_discount")
    attach(discount, tier="silver", discount_rate=D("0.95"))
    attach(discount, tier="gold", discount_rate=D("0.90"))
    annual = plan()
    attach(double, plan=annual, multiplier=D("2"))
    attach(discount, plan=annual, discount_rate=D("0.88"))
    return annual


def test_the_tier_multiplier_changes_what_a_sale_earns(ladder_benefits, store, now):
    member = register(now)
    first = sell(store, member, now, "S-1", "2000.00")  # 1 point per yuan; → Silver after
    assert earned_points(first) == 2000
    assert member_points_multiplier(member_id=member.pk, now=now).value == D("1.5")
    second = sell(store, member, now, "S-2", "100.00")
    assert earned_points(second) == 150  # 100 × 1.5
    bonus = MultiplierBonus.objects.get(entry__order=second)
    assert (bonus.extra_points, bonus.tier.code, bonus.plan_id) == (50, "silver", None)
    assert not MultiplierBonus.objects.filter(entry__order=first).exists()


def test_the_better_of_tier_and_paid_plan_applies_not_both(ladder_benefits, store, now):
    member = register(now)
    sell(store, member, now, "S-1", "2000.00")  # Silver: 1.5×, 9.5折
    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-1",
                  amount=D("199.00"), channel="api", now=now)
    applied = member_points_multiplier(member_id=member.pk, now=now)
    assert (applied.value, applied.plan_id) == (D("2"), ladder_benefits.pk)  # not 3×
    order = sell(store, member, now, "S-2", "100.00")
    assert earned_points(order) == 200
    assert MultiplierBonus.objects.get(entry__order=order).plan_id == ladder_benefits.pk
    rate = member_discount_rate(member_id=member.pk, now=now)
    assert (rate.value, rate.plan_id) == (D("0.88"), ladder_benefits.pk)

    # a year on the plan has ended: back to the tier's own benefits
    later = now + timedelta(days=366)
    assert member_points_multiplier(member_id=member.pk, now=later).value == D("1.5")
    assert member_discount_rate(member_id=member.pk, now=later).value == D("0.95")


def test_discount_rate_per_tier(ladder_benefits, store, now):
    registered, silver, gold = register(now), register(now), register(now)
    sell(store, silver, now, "S-1", "2000.00")
    sell(store, gold, now, "S-2", "10000.00")
    assert member_discount_rate(member_id=registered.pk, now=now).value == D(1)
    silver_rate = member_discount_rate(member_id=silver.pk, now=now)
    assert (silver_rate.value, silver_rate.plan_id) == (D("0.95"), None)
    assert member_discount_rate(member_id=gold.pk, now=now).value == D("0.90")
    assert member_discount_rate(member_id=999_999_999, now=now).value == D(1)


def test_events_earn_with_the_multiplier_too(ladder_benefits, store, now):
    member = register(now)
    sell(store, member, now, "S-1", "10000.00")  # Gold: 2×
    outcome = record_activity(data=ActivityInput(member_id=member.pk, kind="profile_completed",
                                                 source_key="evt-1", occurred_at=now), now=now)
    assert outcome.earned.points_for(member.pk) == 100  # the default 50 for a profile, × 2
    bonus = MultiplierBonus.objects.get(member=member, entry__order__isnull=True)
    assert (bonus.extra_points, bonus.tier.code) == (50, "gold")


def test_member_benefits_lists_tier_and_plan(ladder_benefits, store, now):
    member = register(now)
    assert member_benefits(member_id=member.pk, now=now) == []
    sell(store, member, now, "S-1", "2000.00")
    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-1",
                  amount=D("199.00"), channel="api", now=now)
    held = [(b.code, b.source) for b in member_benefits(member_id=member.pk, now=now)]
    assert sorted(held) == [("double-points", "plan"), ("double-points", "tier"),
                            ("member-price", "plan"), ("member-price", "tier")]


def test_the_database_refuses_bad_parameters(ladder_benefits):
    double = benefit("triple", "points_multiplier")
    for params in ({"multiplier": D("0.5")}, {"multiplier": D("11")}):
        with pytest.raises(IntegrityError), transaction.atomic():
            attach(double, tier="gold", **params)
    discount = benefit("cheap", "tier_discount")
    with pytest.raises(IntegrityError), transaction.atomic():
        attach(discount, tier="gold", discount_rate=D("1.2"))
    with pytest.raises(IntegrityError), transaction.atomic():  # one owner, not two
        attach(discount, tier="gold", plan=ladder_benefits, discount_rate=D("0.9"))
    with pytest.raises(IntegrityError), transaction.atomic():  # a coupon pack needs a template
        benefit("pack", "coupon_pack", grant_period="monthly")
    with pytest.raises(IntegrityError), transaction.atomic():  # applied, never granted
        benefit("granted-x", "points_multiplier", grant_period="monthly")


def test_a_return_takes_back_the_multipliers_share(ladder_benefits, store, now):
    from datetime import date

    from loyalty.services.intake import record_return
    from members.services.orders import ReturnInput, ReturnLineInput
    from tiers.selectors.benefits import benefit_cost_by_tier

    member = register(now)
    sell(store, member, now, "S-1", "2000.00")  # Silver: 1.5×
    sale = sell(store, member, now, "S-2", "100.00", quantity=2)
    assert earned_points(sale) == 150  # 50 of them the multiplier's
    record_return(ret=ReturnInput(store_code=store.code, order_no="R-1", sale_order_no="S-2",
                                  ordered_at=now, lines=(ReturnLineInput(1, 1),)), now=now)
    bonuses = sorted(MultiplierBonus.objects.filter(member=member)
                     .values_list("extra_points", flat=True))
    assert bonuses == [-25, 50]
    silver = {r.name: r for r in benefit_cost_by_tier(month=date(2026, 3, 1))}["白银 Silver"]
    assert (silver.extra_points, silver.points_cost) == (25, D("0.25"))


def test_a_referral_pays_each_side_at_its_own_multiplier(ladder_benefits, store, now):
    make_rule(now, "referral", formula="fixed", fixed_points=100, event="referral_converted",
              beneficiary="both")
    referrer = register(now)
    sell(store, referrer, now, "S-1", "10000.00")  # Gold: 2×
    invited = register(now)                         # Registered: no multiplier
    outcome = record_activity(data=ActivityInput(
        member_id=invited.pk, kind="referral_converted", source_key="ref-1", occurred_at=now,
        payload={"referrer": referrer.pk}), now=now)
    assert (outcome.earned.points_for(invited.pk), outcome.earned.points_for(referrer.pk)) == (
        100, 200)
    bonus = MultiplierBonus.objects.get(member=referrer, entry__order__isnull=True,
                                        entry__source_key__startswith="activity:")
    assert (bonus.extra_points, bonus.tier.code) == (100, "gold")
    assert not MultiplierBonus.objects.filter(member=invited).exists()
