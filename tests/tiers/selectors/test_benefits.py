"""Who holds a benefit lives in Python and in SQL: the two must agree."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from tiers.models import GrowthAccount, Tier
from tiers.models.benefits import Benefit, BenefitAttachment
from tiers.models.paid import PaidMembership
from tiers.selectors.benefits import benefit_holdings_sql, member_benefit_holdings

from ..helpers import benefit, plan

pytestmark = pytest.mark.django_db

BENEFITS = 4
OFFER = st.none() | st.fixed_dictionaries({
    "quantity": st.none() | st.integers(min_value=1, max_value=4),
    "multiplier": st.none() | st.sampled_from([Decimal("1.5"), Decimal(2), Decimal(3)]),
    "discount_rate": st.none() | st.sampled_from([Decimal("0.85"), Decimal("0.9"), Decimal(1)]),
})


def test_who_holds_a_benefit_agrees_in_python_and_sql(make_member, now):
    """The grant job asks the SQL, the member's applied multiplier and discount rate ask
    Python: on any mix of tier and plan offers of the same benefits (some inactive, the plan
    running or ended), both say which benefits the member holds and through which offer."""
    member = make_member()
    tier = Tier.objects.get(code="silver")
    GrowthAccount.objects.create(member=member, growth=0, period_growth=0, tier=tier,
                                 tier_since=now, updated_at=now)
    annual = plan()
    PaidMembership.objects.create(member=member, plan=annual, first_started_at=now,
                                  period_started_at=now, ends_at=now + timedelta(days=30),
                                  updated_at=now)
    items = [benefit(f"b{n}", "member_day") for n in range(BENEFITS)]

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.lists(st.tuples(OFFER, OFFER, st.booleans()), min_size=BENEFITS,
                    max_size=BENEFITS), st.booleans())
    def agree(offers, plan_running):
        BenefitAttachment.objects.filter(benefit__in=items).delete()
        PaidMembership.objects.filter(member=member).update(
            ends_at=now + timedelta(days=30 if plan_running else -1),
            period_started_at=now - timedelta(days=60))
        for item, (on_tier, on_plan, active) in zip(items, offers, strict=True):
            Benefit.objects.filter(pk=item.pk).update(is_active=active)
            if on_tier is not None:
                BenefitAttachment.objects.create(benefit=item, tier=tier, **on_tier)
            if on_plan is not None:
                BenefitAttachment.objects.create(benefit=item, plan=annual, **on_plan)
        python = {benefit_id: (a.tier_id, a.plan_id, a.quantity or 1)
                  for benefit_id, a in member_benefit_holdings(member_id=member.pk,
                                                               now=now).items()}
        with connection.cursor() as cursor:
            cursor.execute("SELECT h.benefit_id, h.tier_id, h.plan_id, h.quantity FROM "
                           + benefit_holdings_sql(members="h.member_id = %(member)s",
                                                  now="%(now)s") + " h",
                           {"member": member.pk, "now": now})
            sql = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
        assert python == sql
        expected = {item.pk for item, (on_tier, on_plan, active) in zip(items, offers,
                                                                        strict=True)
                    if active and (on_tier is not None or (plan_running and on_plan is not None))}
        assert set(python) == expected

    agree()
