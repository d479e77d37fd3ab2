"""The liability page in the operator console: the figures and a bar chart per month."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.urls import reverse

from points.services import points_earn, points_spend
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
                      r"<title>([\d-]+) [^:]+: (\d+)</title>", html)
    by_month = {}
    for _y, height, month, value in bars:
        by_month.setdefault(month, []).append((int(value), int(height)))
    # issued, redeemed, expired; the largest (800) is the full height, the rest in scale
    assert by_month == {"2026-09": [(800, 160), (0, 0), (0, 0)],
                        "2026-10": [(400, 80), (200, 40), (0, 0)]}
