"""The ladder editor, the growth records and the tier section of the member page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from tiers.models import Tier, TierChange
from tiers.services.growth import growth_add

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def walked(make_member, now):
    """A member taken from no tier to Silver, then to Gold."""
    member = make_member()
    growth_add(member_id=member.pk, points=2_500, source_key="t-1", reason="test", now=now)
    growth_add(member_id=member.pk, points=8_000, source_key="t-2", reason="test",
               now=now + timedelta(days=1))
    return member


def test_ladder_lists_tiers_by_rank_with_the_policy_in_plain_words(admin_client):
    response = admin_client.get(reverse("admin:tiers_tier_changelist"), **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "After 12 months: growth is halved (keep 50%), then re-evaluated" in page
    assert "After 12 months: growth resets to 0, then re-evaluated" in page
    assert "After 12 months: 1/3 of growth is deducted, then re-evaluated" in page
    assert "Permanent" in page
    names = [t.name for t in Tier.objects.order_by("rank")]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)  # ordered by rank


def test_tier_change_form_explains_reevaluation_and_renewal(admin_client):
    gold = Tier.objects.get(code="gold")
    response = admin_client.get(reverse("admin:tiers_tier_change", args=[gold.pk]), **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "保级" in page and "re-evaluated" in page
    assert "Downgrades happen only at re-evaluation" in page


def test_keep_threshold_policy_in_plain_words():
    from django.utils import translation

    from tiers.admin.ladder import end_policy_words

    tier = Tier(validity_months=6, end_policy="keep_if_period_growth", keep_threshold=3_000)
    with translation.override("en"):
        words = end_policy_words(tier)
    assert words.startswith("After 6 months: the tier is kept if the period's growth "
                            "reached 3,000")


def test_settings_open_as_a_singleton(admin_client):
    response = admin_client.get(reverse("admin:tiers_tiersettings_changelist"))
    assert response.status_code == 302
    assert admin_client.get(response.url).status_code == 200


def test_growth_entries_and_tier_changes_are_read_only_lists(admin_client, walked):
    for name in ("growthentry", "tierchange"):
        url = reverse(f"admin:tiers_{name}_changelist")
        response = admin_client.get(url + f"?q={walked.member_no}", **EN)
        assert response.status_code == 200
        assert walked.member_no in response.content.decode()
        assert admin_client.get(url + "?q=nobody-like-this").status_code == 200
        assert admin_client.get(reverse(f"admin:tiers_{name}_add")).status_code == 403
    response = admin_client.get(reverse("admin:tiers_tierchange_changelist") + "?reason=upgrade")
    assert response.status_code == 200


def test_member_page_shows_tier_and_history(admin_client, walked):
    response = admin_client.get(reverse("admin:members_member_change", args=[walked.pk]), **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "黄金 Gold" in page
    assert "10,500" in page  # growth
    assert "钻石 Diamond: still needs 19,500 growth, about ¥19,500.00 of spend" in page
    assert "白银 Silver → 黄金 Gold" in page and "Upgrade" in page
    assert "- → 白银 Silver" in page and "Initial tier" in page
    assert TierChange.objects.filter(member_id=walked.pk).count() == 2


def test_member_page_of_a_member_without_growth(admin_client, member):
    response = admin_client.get(reverse("admin:members_member_change", args=[member.pk]), **EN)
    assert response.status_code == 200
    assert "No tier changes yet." in response.content.decode()


def test_the_ladder_names_a_tier_entry_condition_not_a_ledger_entry(admin_client):
    ladder = admin_client.get(reverse("admin:tiers_tier_changelist")).content.decode()
    assert re.search(r'<th[^>]*class="[^"]*column-entry', ladder)
    header = re.search(r'column-entry[^>]*>.*?<span>(.*?)</span>', ladder, re.S).group(1)
    assert header.strip() == "准入条件"
    tier = Tier.objects.get(code="silver")
    page = admin_client.get(reverse("admin:tiers_tier_change", args=[tier.pk])).content.decode()
    form = page.split('id="content"')[1]
    assert "准入条件" in form and "流水" not in form
    # the same English word on the points ledger still reads as a ledger entry
    from points.models import RuleAward

    with translation.override("zh-hans"):
        assert str(RuleAward._meta.get_field("entry").verbose_name) == "积分流水"
