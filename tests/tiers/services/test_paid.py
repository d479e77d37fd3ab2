"""Paid membership: purchase, renewal from the current end, buying again after lapsing,
idempotency by the storefront's purchase id, the lapse job; and the figures operators
watch (penetration, conversion, renewal rate, spend per paid member) and the cost of
benefits per tier and month."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from members.errors import MemberError
from members.models import Member
from tiers.errors import TierError
from tiers.models.benefits import BenefitGrant
from tiers.models.paid import PaidMembership, PaidPurchase
from tiers.selectors.benefits import benefit_cost_by_tier, month_bounds
from tiers.selectors.paid import paid_membership_figures
from tiers.services.benefits import benefit_grant_claim, benefit_grant_use, benefit_grants_issue
from tiers.services.paid import paid_lapse_due, paid_purchase

from ..helpers import attach, benefit, plan
from .test_ladder import register, sell

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = Decimal


def buy(member, purchase_id, now, code="annual", amount="199.00"):
    return paid_purchase(member_id=member.pk, plan_code=code, purchase_id=purchase_id,
                         amount=D(amount), channel="api", now=now)


@pytest.fixture
def plans(db):
    return plan("half-year", 6, "109.00"), plan("annual", 12, "199.00")


def test_purchase_renewal_lapse_and_return(plans, now):
    member = register(now)
    first = buy(member, "P-1", now)
    assert first.created and first.purchase.kind == "new"
    assert first.membership.ends_at == now.replace(year=2027)

    # renewal while active extends from the current end, not from today
    renewal = buy(member, "P-2", now + timedelta(days=100), code="half-year", amount="109.00")
    assert renewal.purchase.kind == "renewal"
    assert renewal.purchase.period_start == now.replace(year=2027)
    assert renewal.membership.ends_at == datetime(2027, 9, 14, 10, 30, tzinfo=SHANGHAI)
    assert renewal.membership.plan.code == "half-year"

    # the lapse job marks it only once the paid period has ended
    end = renewal.membership.ends_at
    assert paid_lapse_due(now=end - timedelta(seconds=1)) == 0
    assert paid_lapse_due(now=end, chunk=1) == 1
    assert paid_lapse_due(now=end) == 0
    assert PaidMembership.objects.get(member=member).status == "lapsed"

    # buying after the end starts a new period at once
    back = buy(member, "P-3", end + timedelta(days=20))
    assert back.purchase.kind == "returning"
    membership = PaidMembership.objects.get(member=member)
    assert (membership.status, membership.period_started_at, membership.purchases) == (
        "active", end + timedelta(days=20), 3)
    assert membership.first_started_at == now


def test_the_purchase_id_makes_a_retry_answer_the_first(plans, now):
    member, other = register(now), register(now)
    first = buy(member, "P-1", now)
    again = buy(member, "P-1", now + timedelta(minutes=5))
    assert not again.created and again.purchase.pk == first.purchase.pk
    assert PaidMembership.objects.get(member=member).ends_at == first.membership.ends_at
    for kwargs in ({"member": other}, {"member": member, "amount": "1.00"},
                   {"member": member, "code": "half-year"}):
        m = kwargs.pop("member")
        with pytest.raises(TierError) as err:
            buy(m, "P-1", now, **kwargs)
        assert err.value.code.value == "paid_purchase_id_conflict"
    assert PaidPurchase.objects.count() == 1


def test_refusals(plans, now):
    member = register(now)
    for code, kwargs in (("paid_plan_not_found", {"code": "lifetime"}),
                         ("paid_amount_negative", {"amount": "-1"})):
        with pytest.raises(TierError) as err:
            buy(member, "P-x", now, **kwargs)
        assert err.value.code.value == code
    Member.objects.filter(pk=member.pk).update(status="closed")
    with pytest.raises(TierError) as err:
        buy(member, "P-y", now)
    assert err.value.code.value == "paid_member_not_active"
    assert not PaidPurchase.objects.exists()


def test_paid_membership_figures(plans, store, now):
    start, end = month_bounds(date(2026, 3, 1))
    paid, renewer, lapser, rest1, rest2 = (register(start - timedelta(days=400)) for _ in range(5))
    buy(renewer, "R-1", start - timedelta(days=365) + timedelta(days=3))  # ends 3 March
    buy(renewer, "R-2", start + timedelta(days=1))  # renewed in time
    buy(lapser, "L-1", start - timedelta(days=365) + timedelta(days=5))  # ends 5 March, lapses
    buy(paid, "N-1", start + timedelta(days=10))  # converts in March
    sell(store, paid, start + timedelta(days=11), "S-1", "300.00")
    sell(store, rest1, start + timedelta(days=11), "S-2", "100.00")
    sell(store, rest2, start + timedelta(days=12), "S-3", "200.00")

    figures = paid_membership_figures(start=start, end=end, now=end - timedelta(hours=1))
    assert figures.active_members == 5
    assert figures.paid_members == 2  # paid, renewer
    assert figures.penetration == D("0.4")
    assert (figures.not_paid_at_start, figures.conversions) == (3, 1)
    assert figures.conversion_rate == D("0.3333")
    assert (figures.periods_due, figures.periods_renewed, figures.renewal_rate) == (2, 1, D("0.5"))
    # paid at some time in March: paid, renewer, lapser (300 ÷ 3); the rest: 300 ÷ 2
    assert figures.spend_per_paid_member == D("100.00")
    assert figures.spend_per_other_member == D("150.00")


def test_benefit_cost_per_tier_and_month(plans, store, now):
    gift = benefit("gift", "birthday_gift", grant_period="monthly", unit_cost="30.00")
    attach(gift, tier="registered", quantity=2)
    double = benefit("double", "points_multiplier")
    attach(double, tier="silver", multiplier=D("2"))
    member, silver = register(now), register(now)
    sell(store, silver, now, "S-1", "2000.00")
    sell(store, silver, now, "S-2", "500.00")  # 1,000 points at 2×: 500 extra = ¥5
    benefit_grants_issue(grant_period="monthly", now=now)
    grant = BenefitGrant.objects.get(member=member)
    benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=now)
    benefit_grant_use(member_id=member.pk, grant_id=grant.pk, units=2, now=now)

    rows = {r.name: r for r in benefit_cost_by_tier(month=date(2026, 3, 1))}
    registered = rows["注册会员 Registered"]
    assert (registered.units_used, registered.grants_cost, registered.total) == (
        2, D("60.00"), D("60.00"))
    silver_row = rows["白银 Silver"]
    assert (silver_row.extra_points, silver_row.points_cost) == (500, D("5.00"))
    assert rows["annual"].total == D("0.00")
    april = {r.name: r for r in benefit_cost_by_tier(month=date(2026, 4, 1))}
    assert april["注册会员 Registered"].total == 0 and april["白银 Silver"].extra_points == 0


def test_purchases_and_uses_are_append_only(plans, now):
    from django.db import DatabaseError, transaction

    member = register(now)
    buy(member, "P-1", now)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PaidPurchase.objects.update(amount=D("0"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PaidPurchase.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_chain_their_periods():
    from tests.races import run_at_once

    plan("annual", 12, "199.00")
    now = datetime(2026, 3, 14, 10, 30, tzinfo=SHANGHAI)
    member = register(now)
    results = run_at_once(lambda i: buy(member, f"P-{i % 4}", now), n=8)
    assert all(kind == "ok" for kind, _r in results), results
    assert sum(r.created for _k, r in results) == 4  # each purchase id once
    periods = sorted((p.period_start, p.period_end)
                     for p in PaidPurchase.objects.filter(member=member))
    assert periods[0][0] == now
    assert all(a[1] == b[0] for a, b in zip(periods, periods[1:]))  # end to start, no overlap
    assert PaidMembership.objects.get(member=member).ends_at == now.replace(year=2030)


def test_one_condition_one_code(plans, now):
    """A missing member is not found (not "not active"); an amount above the limit is too
    large and one that is no number invalid (neither is "negative")."""
    with pytest.raises(MemberError) as err:
        paid_purchase(member_id=999_999_999, plan_code="annual", purchase_id="P-none",
                      amount=D("199.00"), channel="api", now=now)
    assert err.value.code.value == "member_not_found"
    member = register(now)
    for amount, code in (("100000000.00", "paid_amount_too_large"),
                         ("Infinity", "paid_amount_too_large"),
                         ("NaN", "paid_amount_invalid"), ("abc", "paid_amount_invalid"),
                         ("-0.01", "paid_amount_negative")):
        with pytest.raises(TierError) as err:
            paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-z",
                          amount=amount, channel="api", now=now)
        assert err.value.code.value == code, amount
    assert not PaidPurchase.objects.exists()
