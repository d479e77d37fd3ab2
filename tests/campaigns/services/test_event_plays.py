"""Event-triggered campaigns end to end: the plays copied from their templates, members and
their history made through the intake with a clock, then the trigger services' poll (the
feed) and daily scan acting through `campaign_act` — ledger, coupons and messages checked.
Also: two workers polling and scanning at once, and a poll killed mid-act then re-run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from campaigns.errors import TriggerError
from campaigns.models import Campaign, CampaignMember, CampaignStatus, Message
from campaigns.services.copy import campaign_copy
from campaigns.services.plays import campaign_plays_install
from campaigns.services.schedule import campaigns_tick
from campaigns.services.status import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
)
from campaigns.services.triggers import (
    campaign_act_event,
    campaign_triggers_poll,
    campaigns_poll_events,
    campaigns_scan_events,
)
from loyalty.services.intake import record_sale, register_member
from members.models import Member
from members.services.members import MemberInput
from points.models import Coupon, PointsEntry
from tests.campaigns.feed_helpers import feed_settle
from tests.campaigns.helpers import campaign, states
from tests.conftest import SHANGHAI
from tests.points.helpers import sale_input
from tests.races import run_at_once

DAY0 = datetime(2026, 3, 2, 11, 0, tzinfo=SHANGHAI)


def _running(code: str, now: datetime, **fields) -> Campaign:
    """A copy of a shipped play, scheduled and started by the scheduler's tick."""
    plays = {c.code: c for c in campaign_plays_install(now=now)}
    copy = campaign_copy(campaign_id=plays[code].pk, now=now)
    for name, value in fields.items():
        setattr(copy, name, value)
    copy.save()
    campaign_schedule(campaign_id=copy.pk, now=now)
    campaigns_tick(now=now)
    copy.refresh_from_db()
    assert copy.status == CampaignStatus.RUNNING and not copy.runs.exists()
    return copy


def _register(n: int, now: datetime, channel: str = "store") -> Member:
    return register_member(data=MemberInput(mobile=f"1381000{n:04d}", name=f"会员{n}",
                                            source_channel=channel), now=now).member


def _buy(store, member: Member, at: datetime, order_no: str) -> None:
    record_sale(sale=sale_input(store, member.pk, at, order_no, amount="100.00"), now=at)


def _poll(now: datetime) -> dict:
    feed_settle()
    return campaigns_poll_events(now=now)


def _campaign_coupons(c: Campaign) -> list[int]:
    return sorted(Coupon.objects.filter(source_key__startswith=f"campaign:{c.pk}:")
                  .values_list("member_id", flat=True))


def _campaign_points(c: Campaign) -> list[tuple[int, int]]:
    return sorted(PointsEntry.objects.filter(source_key__startswith=f"campaign:{c.pk}:")
                  .values_list("member_id", "available_delta"))


@pytest.mark.django_db
def test_reactivation_after_one_repurchase_cycle_once_per_lapse(store):
    quiet, back, fresh = (_register(i, DAY0 - timedelta(days=60)) for i in range(3))
    for i, m in enumerate((quiet, back)):
        _buy(store, m, DAY0, f"R{i}")
    c = _running("play-reactivation", DAY0)
    assert c.trigger_params == {"cycle": "member"}

    # 29 days without a purchase: nothing (the programme's cycle is 30 days)
    campaigns_scan_events(now=DAY0 + timedelta(days=29))
    assert _campaign_coupons(c) == [] and not Message.objects.filter(campaign=c).exists()
    # back buys again on day 20; quiet lapses on day 30: coupon + "coupons waiting" message
    _buy(store, back, DAY0 + timedelta(days=20), "R2")
    campaigns_scan_events(now=DAY0 + timedelta(days=30, hours=-6))
    assert _campaign_coupons(c) == [quiet.pk]
    message = Message.objects.get(campaign=c)
    assert message.member_id == quiet.pk and message.template.code == "reactivation-coupons-waiting"
    assert "优惠券待使用" in message.template.body
    assert message.occasion.startswith("lapse:")
    # the next days of the grace: the same lapse, nothing again; fresh never bought
    for day in (31, 33):
        campaigns_scan_events(now=DAY0 + timedelta(days=day))
    assert _campaign_coupons(c) == [quiet.pk]
    assert fresh.pk not in _campaign_coupons(c)
    # back bought twice, 20 days apart: their own cycle, so they lapse on day 40
    _buy(store, quiet, DAY0 + timedelta(days=35), "R3")
    campaigns_scan_events(now=DAY0 + timedelta(days=39))
    assert _campaign_coupons(c) == [quiet.pk]
    campaigns_scan_events(now=DAY0 + timedelta(days=40))
    assert _campaign_coupons(c) == sorted([quiet.pk, back.pk])
    # quiet bought again on day 35 (a 35-day cycle of their own): a new lapse on day 70
    campaigns_scan_events(now=DAY0 + timedelta(days=69))
    assert _campaign_coupons(c) == sorted([quiet.pk, back.pk])
    campaigns_scan_events(now=DAY0 + timedelta(days=70))
    assert _campaign_coupons(c) == sorted([quiet.pk, quiet.pk, back.pk])
    assert Message.objects.filter(campaign=c).count() == 3
    assert len(set(Message.objects.filter(campaign=c, member=quiet)
                   .values_list("occasion", flat=True))) == 2


@pytest.mark.django_db(transaction=True)
def test_new_member_first_30_days(store):
    welcome = _running("play-new-welcome", DAY0)
    reminder = _running("play-new-day7-reminder", DAY0)
    first = _running("play-new-first-purchase", DAY0)
    _poll(DAY0)  # the feed triggers start reading here
    buyer, idle = _register(1, DAY0), _register(2, DAY0)
    imported = _register(3, DAY0, channel="import")
    _poll(DAY0 + timedelta(minutes=1))
    # welcome coupon and message on registration (bulk imports left out), once
    assert _campaign_coupons(welcome) == sorted([buyer.pk, idle.pk])
    assert set(Message.objects.filter(campaign=welcome).values_list("member_id", flat=True)) \
        == {buyer.pk, idle.pk}
    _poll(DAY0 + timedelta(minutes=2))
    assert _campaign_coupons(welcome) == sorted([buyer.pk, idle.pk])

    # the first purchase earns the bonus; the second does not
    _buy(store, buyer, DAY0 + timedelta(days=3), "N1")
    _poll(DAY0 + timedelta(days=3, minutes=1))
    _buy(store, buyer, DAY0 + timedelta(days=4), "N2")
    _poll(DAY0 + timedelta(days=4, minutes=1))
    assert _campaign_points(first) == [(buyer.pk, 200)]

    # day 6: no reminder yet; day 7: the member who has not bought, once
    campaigns_scan_events(now=DAY0 + timedelta(days=6))
    assert not Message.objects.filter(campaign=reminder).exists()
    for day in (7, 8):
        campaigns_scan_events(now=DAY0 + timedelta(days=day, hours=-8))
    reminded = Message.objects.filter(campaign=reminder)
    assert list(reminded.values_list("member_id", "occasion")) == [(idle.pk, "once")]
    assert imported.pk not in _campaign_coupons(welcome)


@pytest.mark.django_db
def test_event_campaigns_keep_control_limits_and_pause(store):
    people = [_register(i, DAY0 - timedelta(days=10)) for i in range(40)]
    c = campaign(DAY0, code="lapse10", trigger="new_no_purchase", trigger_params={"days": 10},
                 run_at=None, control_percent=20, actions=(("points", {"points": 50}),))
    campaign_schedule(campaign_id=c.pk, now=DAY0)
    campaigns_tick(now=DAY0)
    campaign_pause(campaign_id=c.pk, now=DAY0)
    campaigns_scan_events(now=DAY0)
    assert states(c) == {}  # paused: nobody
    campaign_resume(campaign_id=c.pk, now=DAY0)
    campaigns_scan_events(now=DAY0)
    counts = states(c)
    assert counts.get("acted", 0) + counts.get("control", 0) == 40 and counts["control"] > 0
    control = set(CampaignMember.objects.filter(campaign=c, state="control")
                  .values_list("member_id", flat=True))
    assert {m for m, _p in _campaign_points(c)} == {m.pk for m in people} - control
    campaign_cancel(campaign_id=c.pk, now=DAY0)
    assert campaigns_scan_events(now=DAY0 + timedelta(days=1))["campaigns"] == 0


@pytest.mark.django_db
def test_trigger_settings_are_checked_at_save_and_in_the_form():
    c = campaign(DAY0, code="bad", trigger="lapse", trigger_params={"days": 30}, run_at=None)
    c.trigger_params = {"dayz": 30}
    with pytest.raises(TriggerError):
        c.save()
    with pytest.raises(ValidationError) as caught:
        c.clean()
    assert "trigger_params" in caught.value.message_dict
    c.trigger, c.trigger_params = "weekly", {"days": 3}
    with pytest.raises(ValidationError):
        c.clean()


def _entries_per_member(c: Campaign) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT member_id, count(*) FROM points_pointsentry WHERE source_key "
                       "LIKE %s GROUP BY member_id HAVING count(*) > 1", [f"campaign:{c.pk}:%"])
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_two_workers_polling_and_scanning_at_once_act_once_per_member():
    poll = campaign(DAY0, code="welcome2", trigger="registration", run_at=None,
                    control_percent=10, actions=(("points", {"points": 30}),))
    scan = campaign(DAY0, code="idle2", trigger="new_no_purchase", run_at=None,
                    trigger_params={"days": 1}, actions=(("points", {"points": 40}),))
    for c in (poll, scan):
        campaign_schedule(campaign_id=c.pk, now=DAY0)
    campaigns_tick(now=DAY0)
    _poll(DAY0)
    people = [_register(i, DAY0) for i in range(30)]
    feed_settle()

    results = run_at_once(lambda i: campaigns_poll_events(now=DAY0, batch=7), 2)
    assert [r[0] for r in results] == ["ok", "ok"], results
    results = run_at_once(lambda i: campaigns_scan_events(now=DAY0 + timedelta(days=1),
                                                          chunk=5), 2)
    assert [r[0] for r in results] == ["ok", "ok"], results
    for c, points in ((poll, 30), (scan, 40)):
        counts = states(c)
        assert counts.get("acted", 0) + counts.get("control", 0) == 30, (c.code, counts)
        assert _entries_per_member(c) == []
        acted = set(CampaignMember.objects.filter(campaign=c, state="acted")
                    .values_list("member_id", flat=True))
        assert _campaign_points(c) == sorted((m, points) for m in acted)
    assert len(people) == 30


@pytest.mark.django_db(transaction=True)
def test_a_poll_killed_mid_act_rerun_acts_once():
    c = campaign(DAY0, code="welcome3", trigger="registration", run_at=None,
                 actions=(("points", {"points": 25}),))
    campaign_schedule(campaign_id=c.pk, now=DAY0)
    campaigns_tick(now=DAY0)
    _poll(DAY0)
    people = [_register(i, DAY0) for i in range(12)]
    feed_settle()
    calls = []

    def dies_in_the_second_batch(campaign, occasion, member_ids, now):
        campaign_act_event(campaign, occasion, member_ids, now)  # acts, then the worker dies
        calls.append(member_ids)
        if len(calls) == 2:
            raise SystemExit("killed")

    with pytest.raises(SystemExit):
        campaign_triggers_poll(campaigns=[Campaign.objects.get(pk=c.pk)],
                               act=dies_in_the_second_batch, now=DAY0, batch=5)
    # the first batch committed with its cursor; the second rolled back with its actions
    assert len(_campaign_points(c)) == 5
    campaigns_poll_events(now=DAY0 + timedelta(minutes=1), batch=5)
    campaigns_poll_events(now=DAY0 + timedelta(minutes=2), batch=5)
    assert _campaign_points(c) == sorted((m.pk, 25) for m in people)
    assert states(c) == {"acted": 12}
