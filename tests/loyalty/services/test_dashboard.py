"""The dashboard's daily facts: the nightly job written set-based, rebuilt whole, today live
with the same SQL; the home page's figures and charts for each role."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from core.clock import local_date
from loyalty import roles
from loyalty.models import DashboardFact, Measure
from loyalty.selectors.dashboard import dashboard_figures
from loyalty.services.dashboard import dashboard_facts_build
from loyalty.services.intake import record_sale
from members.models import Member
from members.services.orders import LineInput, SaleInput
from points.models import PointsEntry

pytestmark = pytest.mark.django_db


def _sale(store, member, when, no, amount):
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=no, member_id=member.pk, ordered_at=when,
        lines=(LineInput(line_no=1, sku="TEA", quantity=1, gross_amount=Decimal(amount)),)),
        now=when)


@pytest.fixture
def week(store, other_store, make_member):
    """Sales on the last three days (yesterday, the day before, today) at two stores."""
    now = timezone.now()
    a = make_member(home_store_code=store.code, source_channel="store")
    b = make_member(home_store_code=other_store.code, source_channel="web")
    Member.objects.filter(pk__in=[a.pk, b.pk]).update(created_at=now - timedelta(days=1))
    _sale(store, a, now - timedelta(days=2), "S-1", "100.00")
    _sale(store, a, now - timedelta(days=1), "S-2", "250.50")
    _sale(other_store, b, now - timedelta(days=1), "B-1", "80.00")
    _sale(store, b, now, "S-3", "19.90")
    return now, a, b


def _build_days(now, days=3):
    for back in range(days, 0, -1):
        dashboard_facts_build(day=local_date(now) - timedelta(days=back), now=now)


def test_a_rebuilt_day_leaves_one_set_of_rows(week):
    now, *_ = week
    _build_days(now)
    first = sorted(DashboardFact.objects.values_list("day", "store", "measure", "key", "value"))
    _build_days(now)
    again = sorted(DashboardFact.objects.values_list("day", "store", "measure", "key", "value"))
    assert first == again and first


def test_stocks_are_written_only_for_the_day_just_ended(week):
    now, *_ = week
    _build_days(now)
    yesterday = local_date(now) - timedelta(days=1)
    stock_days = set(DashboardFact.objects.filter(measure=Measure.MEMBERS)
                     .values_list("day", flat=True))
    assert stock_days == {yesterday}


def test_figures_are_the_stored_days_plus_today_live(week, store):
    now, a, b = week
    _build_days(now)
    today = local_date(now)
    board = dashboard_figures(start=today - timedelta(days=2), end=today, now=now)
    assert board.flow(Measure.SALE_ORDERS) == 4
    assert board.flow(Measure.NET_SALES) == Decimal("450.40")
    assert board.daily[Measure.NET_SALES][today] == Decimal("19.90")  # today, not stored
    assert not DashboardFact.objects.filter(day=today).exists()
    one_store = dashboard_figures(start=today - timedelta(days=2), end=today,
                                  store_id=store.pk, now=now)
    assert one_store.flow(Measure.NET_SALES) == Decimal("370.40")
    assert board.stock(Measure.MEMBERS) == 2
    assert board.stock(Measure.BUYERS) == 2 and board.stock(Measure.REPEAT_BUYERS) == 2
    assert board.repurchase_rate == 1
    issued = sum(e.available_delta + e.pending_delta
                 for e in PointsEntry.objects.filter(kind="earn"))
    assert board.flow(Measure.POINTS_ISSUED) == issued > 0


def _staff(role: str) -> User:
    user = User.objects.create_user(f"u-{role}", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_the_home_page_shows_figures_and_charts_with_data_points(week):
    now, *_ = week
    _build_days(now)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(_staff(roles.OPERATORS))
    response = client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "450.40" in page  # net sales, with two places
    assert "100.0%" in page  # the repurchase rate as a percentage
    charts = re.findall(r"<svg class=\"dashboard-chart\".*?</svg>", page, re.S)
    assert len(charts) == 3
    for chart in charts:
        assert "<rect" in chart and "class=\"tick\"" in chart
    today = local_date(now)
    filtered = client.get("/admin/", {"start": (today - timedelta(days=1)).isoformat(),
                                      "end": today.isoformat()})
    assert filtered.context["dashboard"].flow(Measure.NET_SALES) == Decimal("350.40")
    refused = client.get("/admin/", {"start": "2026-13-01", "end": "x"})
    assert refused.status_code == 200 and refused.context["dashboard_form"].errors


def test_roles_without_figures_get_the_page_without_them(week):
    client = Client()
    client.force_login(_staff(roles.PROGRAMME_ADMINS))
    response = client.get("/admin/")
    assert response.status_code == 200 and "dashboard" not in response.context
