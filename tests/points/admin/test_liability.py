"""The liability page in the operator console: the figures and a bar chart per month."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.urls import reverse

from points.services.ledger import points_earn, points_spend
from tests.conftest import SHANGHAI
from tests.points.helpers import set_points_settings

pytestmark = pytest.mark.django_db


def test_liability_page_draws_a_bar_per_figure_and_month(admin_client, member):
    set_points_settings(pending_days=0)
    points_earn(member_id=member.pk, points=800, now=datetime(2026, 9, 5, tzinfo=SHANGHAI))
    points_earn(member_id=member.pk, points=400, now=datetime(2026, 10, 5, tzinfo=SHANGHAI))
    points_spend(member_id=member.pk, points=200, now=datetime(2026, 10, 6, tzinfo=SHANGHAI))
    page = admin_client.get(reverse("admin:points_pointsmonthtotal_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    bars = re.findall(r'<rect x="\d+" y="(\d+)" width="14" height="(\d+)"[^>]*>'
                      r"<title>([\d-]+) [^:]+: ([\d,]+)</title>", html)
    by_month = {}
    for _y, height, month, value in bars:
        by_month.setdefault(month, []).append((int(value.replace(",", "")), int(height)))
    # issued, redeemed, expired on an axis 0–800 (ticks every 200): 800 is the full height
    assert {m: by_month[m] for m in ("2026-09", "2026-10")} == {
        "2026-09": [(800, 160), (0, 0), (0, 0)], "2026-10": [(400, 80), (200, 40), (0, 0)]}
    ticks = re.findall(r'<g class="tick"><line [^>]*y1="(\d+)"[^>]*/><text [^>]*>([\d,]+)</text>',
                       html)
    assert [label for _y, label in ticks] == ["0", "200", "400", "600", "800"]
    heights = [int(y) for y, _label in ticks]
    assert heights == sorted(heights, reverse=True) and heights[0] - heights[-1] == 160
    months = re.findall(r'<text class="month"[^>]*>([\d-]+)</text>', html)
    assert months[:2] == ["2026-09", "2026-10"]


def test_the_chart_axis_counts_in_round_steps_with_thousands_separators(admin_client, member):
    set_points_settings(pending_days=0)
    points_earn(member_id=member.pk, points=12_345, now=datetime(2026, 9, 5, tzinfo=SHANGHAI))
    html = admin_client.get(reverse("admin:points_pointsmonthtotal_changelist")).content.decode()
    ticks = re.findall(r'<g class="tick">.*?<text [^>]*>([\d,]+)</text>', html)
    assert ticks == ["0", "5,000", "10,000", "15,000", "20,000"]
    assert "<th>未兑付积分</th><td>12,345</td>" in html  # the figures read with separators
    assert 'x="1,' not in html and 'y="1,' not in html  # coordinates stay plain numbers


@pytest.mark.parametrize("top, step", [(0, 1), (1, 1), (7, 2), (800, 200), (830, 250),
                                       (12_345, 5_000), (99_999, 25_000), (1_000_001, 500_000)])
def test_axis_steps_are_round_and_reach_the_top(top, step):
    from points.admin.liability import TICKS, nice_scale

    assert nice_scale(top) == step
    assert step * TICKS >= top
