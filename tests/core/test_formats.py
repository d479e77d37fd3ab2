"""Figures as operators read them (core.formats), and the month a monthly page shows
(core.admin.month_page): never past the current Beijing month."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory
from django.utils import translation

from core.admin import month_page
from core.formats import number, percent

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_numbers_have_thousands_separators_in_both_languages(language):
    with translation.override(language):
        assert number(1234567) == "1,234,567"
        assert number(-98765) == "-98,765"
        assert number(999) == "999"
        assert number(Decimal("1234.5"), 2) == "1,234.50"
        assert number(None) == "-"


@pytest.mark.parametrize("ratio, shown", [
    (Decimal("0.125"), "12.5%"), (Decimal("0.5000"), "50.0%"), (Decimal(0), "0.0%"),
    (Decimal(1), "100.0%"), (Decimal("0.00005"), "0.0%"), (Decimal("12.3456"), "1,234.6%"),
    (None, "-"),
])
def test_rates_are_percentages(ratio, shown):
    with translation.override("zh-hans"):
        assert percent(ratio) == shown


def test_templates_group_figures_but_not_what_they_mark_unlocalized():
    from django.template import engines

    template = engines["django"].from_string(
        "{% load l10n figures %}{{ n }}|{{ n|unlocalize }}|{{ r|percent }}|{{ m|number:2 }}")
    with translation.override("zh-hans"):
        assert template.render({"n": 1234567, "r": Decimal("0.0425"), "m": Decimal("9876.5")}) \
            == "1,234,567|1234567|4.3%|9,876.50"


def _page(query: str, now: datetime):
    request = RequestFactory().get("/", {"month": query} if query is not None else {})
    return month_page(request, now)


NOW = datetime(2026, 3, 31, 20, 0, tzinfo=ZoneInfo("UTC"))  # already 1 April in Beijing


def test_the_current_month_is_the_beijing_one_and_has_no_next():
    page = _page(None, NOW)
    assert (page.month, page.current, page.error) == (date(2026, 4, 1), date(2026, 4, 1), None)
    assert page.previous == "2026-03" and page.next is None


def test_an_earlier_month_steps_forward_up_to_the_current_one():
    page = _page("2026-02", NOW)
    assert page.month == date(2026, 2, 1) and page.error is None
    assert (page.previous, page.next) == ("2026-01", "2026-03")
    assert _page("2026-03", NOW).next == "2026-04"
    assert _page("2025-12", NOW).next == "2026-01"


@pytest.mark.parametrize("query", ["2026-05", "2027-01", "9999-12"])
def test_a_future_month_is_refused_with_a_message(query):
    with translation.override("zh-hans"):
        page = _page(query, NOW)
    assert page.error and query in page.error and "2026-04" in page.error
    assert "尚未开始" in page.error
    assert page.next is None


@pytest.mark.parametrize("query", ["bogus", "2026-13", "2026-00", "26-3", "1999-12", "2026-03-01"])
def test_text_that_is_not_a_month_is_refused_with_a_message(query):
    with translation.override("en"):
        page = _page(query, NOW)
    assert page.error and "is not a month" in page.error
