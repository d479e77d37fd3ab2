"""Expiry policies (none, rolling, fixed date) on the Beijing calendar, the migration of
the old months setting, and the expiring-soon read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import User

from points.expiry import fixed_expiry_date, last_valid_date
from points.models import PointsLot, PointsSettings
from points.selectors.ledger import points_expiring_soon
from points.services.ledger import points_adjust, points_earn, points_expire_due
from tests.conftest import SHANGHAI
from tests.points.helpers import balances, set_points_settings

UTC = timezone.utc
Policy = PointsSettings.ExpiryPolicy


@pytest.fixture
def operator(db):
    return User.objects.create(username="ops")


def earn_at(member, moment: datetime) -> PointsLot:
    entry = points_earn(member_id=member.pk, points=100, now=moment, pending_days=0).entry
    return PointsLot.objects.get(pk=entry.lot_id)


# --- rolling ---------------------------------------------------------------------------------

@pytest.mark.parametrize("earned_utc, months, expires_beijing", [
    # 30 March 17:00 UTC is already 31 March 01:00 in Beijing: one month on is 30 April
    # (the Beijing calendar's April has no 31st), not 30 April in UTC (= 1 May in Beijing)
    (datetime(2026, 3, 30, 17, 0, tzinfo=UTC), 1, datetime(2026, 4, 30, 1, 0, tzinfo=SHANGHAI)),
    # 31 January 15:59 UTC is still 31 January in Beijing (23:59): → 28 February 23:59
    (datetime(2026, 1, 31, 15, 59, tzinfo=UTC), 1, datetime(2026, 2, 28, 23, 59, tzinfo=SHANGHAI)),
    # 31 January 16:00 UTC is 1 February 00:00 in Beijing: → 1 March 00:00
    (datetime(2026, 1, 31, 16, 0, tzinfo=UTC), 1, datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI)),
    (datetime(2026, 3, 14, 2, 30, tzinfo=UTC), 24, datetime(2028, 3, 14, 10, 30, tzinfo=SHANGHAI)),
])
def test_rolling_counts_months_on_the_beijing_calendar(member, earned_utc, months,
                                                       expires_beijing):
    set_points_settings(expiry_policy=Policy.ROLLING, expiry_months=months)
    assert earn_at(member, earned_utc).expires_at == expires_beijing


# --- fixed date ------------------------------------------------------------------------------

@pytest.mark.parametrize("earned_utc, expires_utc", [
    # 31 December 2026 15:59 UTC is 23:59 in Beijing, still 2026: → end of 31 Dec 2027
    (datetime(2026, 12, 31, 15, 59, tzinfo=UTC), datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
    # one minute later it is 1 January 2027 in Beijing, though still 2026 in UTC:
    # → end of 31 Dec 2028 (Beijing), i.e. 2028-12-31 16:00 UTC
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), datetime(2028, 12, 31, 16, 0, tzinfo=UTC)),
    (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
])
def test_fixed_date_is_the_end_of_31_december_next_year_in_beijing(member, earned_utc,
                                                                   expires_utc):
    set_points_settings(expiry_policy=Policy.FIXED_DATE, expiry_fixed_month=12,
                        expiry_fixed_day=31, expiry_fixed_years_after=1)
    lot = earn_at(member, earned_utc)
    assert lot.expires_at == expires_utc
    assert last_valid_date(lot.expires_at).month == 12
    assert last_valid_date(lot.expires_at).day == 31


def test_fixed_date_lots_expire_at_beijing_midnight_not_utc_midnight(member):
    set_points_settings(expiry_policy=Policy.FIXED_DATE, expiry_fixed_month=12,
                        expiry_fixed_day=31, expiry_fixed_years_after=1)
    earn_at(member, datetime(2026, 6, 1, 12, 0, tzinfo=SHANGHAI))
    points_expire_due(now=datetime(2027, 12, 31, 23, 59, 59, tzinfo=SHANGHAI))
    assert balances(member.pk)["available"] == 100
    # 1 January 2028 00:00 in Beijing is still 31 December in UTC
    points_expire_due(now=datetime(2027, 12, 31, 16, 0, tzinfo=UTC))
    assert balances(member.pk)["available"] == 0


@pytest.mark.parametrize("earned_on, month, day, years_after, expected", [
    (date(2026, 8, 1), 6, 30, 0, date(2027, 6, 30)),     # already past this year → next
    (date(2026, 6, 30), 6, 30, 0, date(2026, 6, 30)),    # the day itself still counts
    (date(2026, 3, 1), 2, 30, 1, date(2028, 2, 29)),     # 30 February → its last day (leap)
    (date(2026, 3, 1), 2, 30, 0, date(2027, 2, 28)),
    (date(2026, 5, 5), 12, 31, 2, date(2028, 12, 31)),
])
def test_fixed_expiry_date(earned_on, month, day, years_after, expected):
    assert fixed_expiry_date(earned_on=earned_on, month=month, day=day,
                             years_after=years_after) == expected


def test_no_expiry_policy_and_adjustments_follow_the_policy(member, operator, now):
    set_points_settings(expiry_policy=Policy.NONE, expiry_months=12)
    assert earn_at(member, now).expires_at is None
    set_points_settings(expiry_policy=Policy.FIXED_DATE, expiry_fixed_years_after=0)
    entry = points_adjust(member_id=member.pk, points=5, operator_id=operator.pk, reason="x",
                          now=now).entry
    assert PointsLot.objects.get(pk=entry.lot_id).expires_at == datetime(
        2027, 1, 1, tzinfo=SHANGHAI)


def test_the_months_setting_becomes_the_rolling_policy(db):
    migration = import_module("points.migrations.0005_expiry_policies")
    settings = PointsSettings.load()
    settings.expiry_months, settings.expiry_policy = None, Policy.ROLLING
    settings.save()
    migration.rolling_or_none(apps, None)
    settings.refresh_from_db()
    assert settings.expiry_policy == Policy.NONE
    settings.expiry_months, settings.expiry_policy = 24, Policy.NONE
    settings.save()
    migration.rolling_or_none(apps, None)
    settings.refresh_from_db()
    assert (settings.expiry_policy, settings.expiry_months) == (Policy.ROLLING, 24)


# --- expiring soon ---------------------------------------------------------------------------

def test_expiring_soon_counts_available_points_within_the_window(member, operator, now):
    set_points_settings(expiry_policy=Policy.ROLLING, expiry_months=1)
    points_earn(member_id=member.pk, points=100, now=now, pending_days=0)           # 14 Apr
    points_earn(member_id=member.pk, points=40, now=now + timedelta(days=10),
                pending_days=0)                                                      # 24 Apr
    set_points_settings(expiry_months=None)
    points_earn(member_id=member.pk, points=7, now=now, pending_days=0)             # never

    soon = points_expiring_soon(member_id=member.pk, now=now + timedelta(days=5))
    assert (soon.points, soon.date, soon.within_days) == (100, date(2026, 4, 14), 30)
    soon = points_expiring_soon(member_id=member.pk, now=now + timedelta(days=20))
    assert (soon.points, soon.date) == (140, date(2026, 4, 14))
    soon = points_expiring_soon(member_id=member.pk, now=now, within_days=7)
    assert (soon.points, soon.date) == (0, None)


def test_expiring_soon_date_is_the_last_beijing_day_of_a_fixed_date(member):
    set_points_settings(expiry_policy=Policy.FIXED_DATE, expiry_fixed_years_after=0)
    earn_at(member, datetime(2026, 12, 20, tzinfo=SHANGHAI))
    soon = points_expiring_soon(member_id=member.pk,
                                now=datetime(2026, 12, 25, tzinfo=SHANGHAI))
    assert (soon.points, soon.date) == (100, date(2026, 12, 31))


# --- the daily notice of points expiring soon ---------------------------------------------------

def test_expiry_notices_one_per_member_and_beijing_day_once_and_caught_up(make_member):
    from points.models import ExpiryNotice
    from points.services.ledger import points_expiry_notices

    set_points_settings(expiry_policy=Policy.ROLLING, expiry_months=1, expiry_warning_days=7)
    a, b = make_member(), make_member()
    # a: two lots expiring on 30 April (Beijing) at 01:00 and 23:30, one on 1 May 00:30
    earn_at(a, datetime(2026, 3, 30, 17, 0, tzinfo=UTC))     # → 30 April 01:00 Beijing
    earn_at(a, datetime(2026, 3, 30, 15, 30, tzinfo=UTC))    # 30 March 23:30 → 30 April 23:30
    earn_at(a, datetime(2026, 3, 31, 16, 30, tzinfo=UTC))    # 1 April 00:30 → 1 May 00:30
    earn_at(b, datetime(2026, 4, 20, 2, 0, tzinfo=UTC))      # → 20 May: beyond the window
    noon = datetime(2026, 4, 24, 12, 0, tzinfo=SHANGHAI)     # 30 April is 6 days ahead
    assert points_expiry_notices(now=noon) == 2
    assert sorted(ExpiryNotice.objects.values_list("member_id", "expires_on", "points")) == [
        (a.pk, date(2026, 4, 30), 200), (a.pk, date(2026, 5, 1), 100)]
    # again the same day, or the next: nothing twice; b's day enters the window on 13 May
    assert points_expiry_notices(now=noon + timedelta(hours=3)) == 0
    assert points_expiry_notices(now=noon + timedelta(days=1)) == 0
    assert points_expiry_notices(now=datetime(2026, 5, 14, 9, 0, tzinfo=SHANGHAI)) == 1
    # no warning period: no notices
    set_points_settings(expiry_warning_days=0)
    earn_at(b, datetime(2026, 4, 25, 2, 0, tzinfo=UTC))
    assert points_expiry_notices(now=datetime(2026, 5, 24, 9, 0, tzinfo=SHANGHAI)) == 0
