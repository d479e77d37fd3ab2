"""The results page, its CSV export, targets vs actuals on the campaign page and the
frequency warning on the launch confirmation."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from campaigns.models import CampaignStatus
from tests.campaigns.helpers import campaign
from tests.campaigns.selectors.test_results import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_results_page_with_separators_variants_control_and_chart(admin_client, world):  # noqa: F811
    page = admin_client.get(reverse("admin:campaigns_campaign_results", args=[world.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "2,000" in html and "560.00" in html and "260.00" in html  # points, revenue
    assert "642.9%" in html  # ROI 6.4286
    assert "对照组" in html and "<svg" in html and "<rect" in html
    change = admin_client.get(reverse("admin:campaigns_campaign_change", args=[world.pk]))
    assert reverse("admin:campaigns_campaign_results", args=[world.pk]) in change.content.decode()
    assert "目标与实际" in change.content.decode()


def test_results_export_as_csv(admin_client, world):  # noqa: F811
    response = admin_client.get(reverse("admin:campaigns_campaign_results_export",
                                        args=[world.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_arm = {row[0]: row for row in rows[1:]}
    assert set(by_arm) == {"*", "A", "control"}
    assert by_arm["*"][1:3] == ["10", "6"] and by_arm["*"][-1] == "6.4286"
    assert by_arm["control"][-5] == ""  # no lift of its own


def test_launch_warns_beyond_the_grades_frequency(admin_client, now):
    campaign(now, code="first", grade="S", status=CampaignStatus.SCHEDULED)
    second = campaign(now, code="second", grade="S")
    page = admin_client.get(reverse("admin:campaigns_campaign_launch", args=[second.pk]))
    assert "超出频次目标" in page.content.decode()
    # the forecast: no past campaign of grade S has results, so conversions are unknown
    assert "预测" in page.content.decode() and "未知" in page.content.decode()
    third = campaign(now, code="third", grade="A")
    page = admin_client.get(reverse("admin:campaigns_campaign_launch", args=[third.pk]))
    assert "超出频次目标" not in page.content.decode()


def test_grade_targets_are_edited_on_their_page(admin_client):
    listing = admin_client.get(reverse("admin:campaigns_gradetarget_changelist"))
    assert listing.status_code == 200
