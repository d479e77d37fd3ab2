"""Judging a ladder before publishing it: members placed by the proposed thresholds on the
growth they hold, and what a typical member needs to reach each tier."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from tiers.models import Tier
from tiers.selectors.ladder_preview import ladder_preview
from tiers.services.growth import growth_add

from ..services.test_ladder import register, sell

pytestmark = pytest.mark.django_db


def counts(rows) -> dict[str, int]:
    return {row.tier.code: row.members for row in rows}


@pytest.fixture
def population(store, now):
    """Two who never bought, a buyer at 100 growth, and growth 2,500 / 12,000 / 40,000."""
    register(now), register(now)
    sell(store, register(now), now, "S-0", "100.00")
    for n, growth in enumerate((2_500, 12_000, 40_000)):
        member = register(now)
        sell(store, member, now, f"S-{n + 1}", "1.00")
        growth_add(member_id=member.pk, points=growth - 1, source_key=f"g-{n}", reason="t",
                   now=now)
    return now


def test_the_published_ladder_places_every_member(population):
    rows = ladder_preview(now=population)
    assert counts(rows) == {"registered": 2, "bronze": 1, "silver": 1, "gold": 1, "diamond": 1}
    silver = next(r for r in rows if r.tier.code == "silver")
    assert silver.share == Decimal(1) / 6 and silver.spend_to_reach == Decimal(2000)
    assert silver.days_to_reach is not None


def test_proposed_thresholds_move_members_without_saving(population):
    silver, gold = Tier.objects.get(code="silver"), Tier.objects.get(code="gold")
    rows = ladder_preview(thresholds={silver.pk: 50, gold.pk: 50_000}, now=population)
    # the buyer at 100 reaches Silver at 50; nobody reaches Gold at 50,000 (Diamond's 30,000
    # still holds the 40,000)
    assert counts(rows) == {"registered": 2, "bronze": 0, "silver": 3, "gold": 0, "diamond": 1}
    assert Tier.objects.get(pk=silver.pk).min_growth == 2_000


def test_the_admin_preview_page(admin_client, population):
    silver = Tier.objects.get(code="silver")
    url = reverse("admin:tiers_tier_preview")
    page = admin_client.get(url, {f"t{silver.pk}": "50"})
    assert page.status_code == 200
    assert counts(page.context["rows"]) == {  # the buyer at 100 joins the one at 2,500
        "registered": 2, "bronze": 0, "silver": 2, "gold": 1, "diamond": 1}
    bad = admin_client.get(url, {f"t{silver.pk}": "-5"})
    assert bad.status_code == 200 and bad.context["errors"]
    assert url in admin_client.get(reverse("admin:tiers_tier_changelist")).content.decode()


def test_the_preview_form_keeps_thresholds_as_plain_numbers(admin_client, population):
    gold = Tier.objects.get(code="gold")
    page = admin_client.get(reverse("admin:tiers_tier_preview"), {f"t{gold.pk}": "12000"})
    body = page.content.decode()
    # an input's value must parse back: 12000, not the "12,000" a figure reads as
    assert f'name="t{gold.pk}" value="12000"' in body
    shares = re.findall(r"</span> ([\d.,]+%)</td>", body)
    assert len(shares) == Tier.objects.filter(is_active=True).count()
    assert all(re.fullmatch(r"\d{1,3}\.\d%", s) for s in shares), shares
