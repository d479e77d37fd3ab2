"""Shared helpers for the benefit and paid-membership tests."""

from __future__ import annotations

from decimal import Decimal

from tiers.models import Tier
from tiers.models.benefits import Benefit, BenefitAttachment
from tiers.models.paid import PaidPlan


def benefit(code: str, kind: str, *, grant_period: str = "none", unit_cost: str = "0",
            **fields) -> Benefit:
    return Benefit.objects.create(code=code, name=code, kind=kind, grant_period=grant_period,
                                  unit_cost=Decimal(unit_cost), **fields)


def attach(item: Benefit, *, tier: str | None = None, plan: PaidPlan | None = None,
           **params) -> BenefitAttachment:
    return BenefitAttachment.objects.create(
        benefit=item, tier=Tier.objects.get(code=tier) if tier else None, plan=plan, **params)


def plan(code: str = "annual", months: int = 12, price: str = "199.00") -> PaidPlan:
    return PaidPlan.objects.create(code=code, name=code, duration_months=months,
                                   price=Decimal(price))
