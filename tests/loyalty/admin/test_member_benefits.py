"""The benefits section of the member page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.tiers.helpers import attach, benefit, plan
from tests.tiers.services.test_ladder import register
from tiers.services.benefits import benefit_grants_issue
from tiers.services.paid import paid_purchase

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_member_page_shows_benefits_paid_membership_and_grants(admin_client, now):
    annual = plan()
    attach(benefit("double", "points_multiplier"), plan=annual, multiplier=Decimal("2"))
    attach(benefit("ship", "free_shipping", grant_period="monthly"), tier="registered",
           quantity=2)
    member = register(now)
    url = reverse("admin:members_member_change", args=[member.pk])
    page = admin_client.get(url, **EN).content.decode()
    assert "no paid membership" in page and "×1" in page

    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-1",
                  amount=Decimal("199"), channel="api")
    benefit_grants_issue(grant_period="monthly")
    page = admin_client.get(url, **EN).content.decode()
    assert "×2" in page and "annual, paid until" in page
    assert "double (paid plan)" in page and "ship (tier)" in page
    assert "0/2" in page and "Granted, not claimed" in page
