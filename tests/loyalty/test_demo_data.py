"""The demo catalog: what a first look at the product shows, created once however often the
run command starts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.management.commands.demo_data import Command
from points.models import CouponTemplate, PartnerProgramme, Reward
from tiers.benefit_models import BenefitAttachment

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (CouponTemplate.objects.count(), Reward.objects.count(),
            BenefitAttachment.objects.count(), PartnerProgramme.objects.count())


def test_the_demo_catalog_is_created_once():
    Command().catalog(timezone.now())
    first = counts()
    assert first == (3, 3, 12, 1)
    Command().catalog(timezone.now())
    assert counts() == first
    gold = {a.benefit.code: a for a in BenefitAttachment.objects.filter(tier__code="gold")}
    assert gold["member-price"].discount_rate == Decimal("0.95")
    assert gold["monthly-shipping"].benefit.coupon_template.name == "包邮券"
