"""Check-in: once a Beijing day whichever path records it, streaks across a Beijing
midnight and reset by a missed day, streak rewards paid by the earning rules, make-up
check-ins, the calendar, and "streak reached" for campaigns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from campaigns.errors import CheckinError
from campaigns.models import CheckIn, CheckinSettings
from campaigns.selectors.checkin import checkin_calendar, current_streak
from campaigns.selectors.triggers import TriggerKind, trigger_spec
from campaigns.services.checkin import checkin_makeup
from campaigns.services.triggers import campaign_triggers_poll
from loyalty.services.intake import check_in, record_activity
from members.services.activity import ActivityInput
from points.errors import PointsError
from points.models import EarningRule, PointsEntry
from points.services.ledger import points_earn
from tests.campaigns.fakes import FakeCampaign, RecordingAct
from tests.campaigns.feed_helpers import feed_settle
from tests.campaigns.helpers import members
from tests.points.helpers import balances, set_points_settings


def bj(y, m, d, hh, mm=0) -> datetime:
    """A Beijing wall-clock time, as UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=8)


def streak_rule(day: int, points: int, key: str | None = None) -> EarningRule:
    return EarningRule.objects.create(
        rule_key=key or f"streak-{day}", name=f"连续签到{day}天", event="checkin_streak",
        streak_day=day, formula="fixed", fixed_points=points, created_at=timezone.now())


def streak_points(member_id: int) -> int:
    return sum(PointsEntry.objects.filter(member_id=member_id, reason="checkin_streak")
               .values_list("available_delta", flat=True))


@pytest.fixture
def setup(db):
    set_points_settings(pending_days=0)
    streak_rule(3, 10)
    streak_rule(7, 30)
    return members(1, bj(2026, 5, 1, 9))[0]


@pytest.mark.django_db
def test_streak_across_a_beijing_midnight_and_reset_by_a_missed_day(setup):
    member = setup
    # 23:59 on 1 May and 00:01 on 2 May Beijing are two days (the same UTC date)
    assert check_in(member_id=member.pk, now=bj(2026, 5, 1, 23, 59)).checkin.checkin.streak == 1
    second = check_in(member_id=member.pk, now=bj(2026, 5, 2, 0, 1)).checkin
    assert second.created and second.checkin.day == date(2026, 5, 2)
    assert second.checkin.streak == 2
    # the same Beijing day again: the first check-in, nothing new
    again = check_in(member_id=member.pk, now=bj(2026, 5, 2, 22, 0)).checkin
    assert not again.created and again.checkin.pk == second.checkin.pk
    third = check_in(member_id=member.pk, now=bj(2026, 5, 3, 8)).checkin
    assert third.checkin.streak == 3 and streak_points(member.pk) == 10  # day 3: +10
    # 4 May missed: 5 May starts again at 1
    assert current_streak(member.pk, date(2026, 5, 4)) == 3  # 4 May still open
    assert current_streak(member.pk, date(2026, 5, 5)) == 0  # missed
    fifth = check_in(member_id=member.pk, now=bj(2026, 5, 5, 8)).checkin
    assert fifth.checkin.streak == 1
    assert CheckIn.objects.filter(member=member).count() == 4
    # the daily rule paid once a day (5 × 4 days), the streak rule once
    daily = sum(PointsEntry.objects.filter(member_id=member.pk, reason="checkin")
                .values_list("available_delta", flat=True))
    assert daily == 20 and streak_points(member.pk) == 10


@pytest.mark.django_db
def test_a_checkin_event_and_the_endpoint_path_count_once_a_day(setup):
    member = setup
    at = bj(2026, 5, 1, 10)
    event = record_activity(data=ActivityInput(member_id=member.pk, kind="checkin",
                                               source_key="app-checkin-1", occurred_at=at),
                            now=at)
    assert event.checkin.created and event.checkin.checkin.streak == 1
    # the endpoint the same day: the event's check-in
    same_day = check_in(member_id=member.pk, now=at + timedelta(hours=3))
    assert not same_day.checkin.created
    assert same_day.checkin.checkin.pk == event.checkin.checkin.pk
    # another event the next day continues the streak started by the event
    nxt = record_activity(data=ActivityInput(member_id=member.pk, kind="checkin",
                                             source_key="app-checkin-2",
                                             occurred_at=at + timedelta(days=1)),
                          now=at + timedelta(days=1))
    assert nxt.checkin.checkin.streak == 2
    assert CheckIn.objects.filter(member=member).count() == 2


@pytest.mark.django_db
def test_the_cycle_restarts_after_seven_days_and_pays_day_3_and_7_again(setup):
    member = setup
    for n in range(10):
        check_in(member_id=member.pk, now=bj(2026, 5, 1 + n, 9))
    rows = list(CheckIn.objects.filter(member=member).order_by("day")
                .values_list("streak", "cycle_day"))
    assert rows[-1] == (10, 3)
    assert streak_points(member.pk) == 10 + 30 + 10  # days 3, 7, then 10 (cycle day 3)
    settings = CheckinSettings.load()
    settings.streak_cycle_days = None  # the streak goes on: day 10 is day 10
    settings.save()
    check_in(member_id=member.pk, now=bj(2026, 5, 11, 9))
    assert CheckIn.objects.get(member=member, day=date(2026, 5, 11)).cycle_day == 11


@pytest.mark.django_db
def test_makeup_costs_points_is_limited_per_month_and_mends_the_streak(setup):
    member = setup
    points_earn(member_id=member.pk, points=100, now=bj(2026, 5, 1, 8))
    check_in(member_id=member.pk, now=bj(2026, 5, 1, 9))
    check_in(member_id=member.pk, now=bj(2026, 5, 3, 9))  # 2 May missed
    now = bj(2026, 5, 4, 9)
    made = checkin_makeup(member_id=member.pk, day=date(2026, 5, 2), now=now)
    assert made.created and made.checkin.kind == "makeup" and made.checkin.cost_points == 20
    assert balances(member.pk)["available"] == 100 + 5 + 5 - 20
    again = checkin_makeup(member_id=member.pk, day=date(2026, 5, 2), now=now)
    assert not again.created and balances(member.pk)["available"] == 90
    # today's check-in counts through the mended day: 1, 2 (make-up), 3, 4
    assert check_in(member_id=member.pk, now=now).checkin.checkin.streak == 4
    with pytest.raises(CheckinError) as err:
        checkin_makeup(member_id=member.pk, day=date(2026, 5, 3), now=now)
    assert err.value.code == "already_checked_in"
    with pytest.raises(CheckinError) as err:  # not a past day of this month
        checkin_makeup(member_id=member.pk, day=date(2026, 4, 30), now=now)
    assert err.value.code == "makeup_not_allowed"
    with pytest.raises(CheckinError):
        checkin_makeup(member_id=member.pk, day=date(2026, 5, 4), now=now)
    # two a month
    later = bj(2026, 5, 20, 9)
    checkin_makeup(member_id=member.pk, day=date(2026, 5, 10), now=later)
    with pytest.raises(CheckinError) as err:
        checkin_makeup(member_id=member.pk, day=date(2026, 5, 11), now=later)
    assert err.value.code == "makeup_limit_reached"
    cal = checkin_calendar(member_id=member.pk, year=2026, month=5, today=date(2026, 5, 20))
    assert [d["day"].day for d in cal["days"] if d["checked_in"]] == [1, 2, 3, 4, 10]
    assert [d["kind"] for d in cal["days"] if d["checked_in"]] == [
        "daily", "makeup", "daily", "daily", "makeup"]
    assert cal["makeups_used"] == 2 and cal["makeups_left"] == 0 and cal["streak"] == 0


@pytest.mark.django_db
def test_makeup_without_points_writes_nothing(setup):
    member = setup
    with pytest.raises(PointsError):
        checkin_makeup(member_id=member.pk, day=date(2026, 5, 1), now=bj(2026, 5, 3, 9))
    assert not CheckIn.objects.exists()


def test_streak_reached_trigger_is_checked():
    assert trigger_spec(TriggerKind.STREAK_REACHED, {"days": 7}).days == 7
    with pytest.raises(Exception):
        trigger_spec(TriggerKind.STREAK_REACHED, {})


@pytest.mark.django_db(transaction=True)
def test_campaigns_trigger_on_streak_reached_once_per_streak_day():
    set_points_settings(pending_days=0)
    a, b = members(2, bj(2026, 5, 1, 9))
    reached = FakeCampaign(1, TriggerKind.STREAK_REACHED, {"days": 3})
    act = RecordingAct()
    feed_settle()
    campaign_triggers_poll(campaigns=[reached], act=act, now=timezone.now())
    for n in range(3):
        check_in(member_id=a.pk, now=bj(2026, 5, 1 + n, 9))
    check_in(member_id=b.pk, now=bj(2026, 5, 1, 9))
    check_in(member_id=b.pk, now=bj(2026, 5, 3, 9))  # a missed day: no streak of 3
    feed_settle()
    campaign_triggers_poll(campaigns=[reached], act=act, now=timezone.now())
    third = CheckIn.objects.get(member=a, day=date(2026, 5, 3))
    assert act.occasions(1) == [(f"streak:{third.pk}", a.pk)]
    campaign_triggers_poll(campaigns=[reached], act=act, now=timezone.now())
    assert len(act.acted) == 1
