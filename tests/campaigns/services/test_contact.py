"""The contact policy when touches are written (campaigns.services.contact through the
message action): consent per channel, do-not-disturb, whitelist, the cap (reserved under a
per-member lock: racing campaigns), quiet hours on the Beijing clock, refusals counted in
the campaign's results."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction

from campaigns.models import CampaignStatus, ContactPolicy, Message
from campaigns.selectors.results import campaign_results
from campaigns.services.act import campaign_act
from campaigns.services.contact import quiet_until
from members.models import ContactChannel
from members.services.consent import member_consents_set
from tests.campaigns.helpers import campaign, members, message_template
from tests.conftest import SHANGHAI

CHANNELS = ContactChannel.values


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Delivery runs asked for on commit are counted here instead of sent to a broker."""
    asked = []
    monkeypatch.setattr("campaigns.services.delivery._queue", lambda: asked.append(1))
    return asked


def policy(**fields) -> ContactPolicy:
    p = ContactPolicy.load()
    for name, value in fields.items():
        setattr(p, name, value)
    p.save()
    return p


def touching(now, code: str, channel: str = "sms", kind: str = "marketing", **fields):
    template = message_template(now, code=f"t-{code}", channel=channel, kind=kind)
    c = campaign(now, code=code, actions=[("message", {"message_template": template})],
                 **fields)
    c.status = CampaignStatus.RUNNING
    c.save()
    return c


def touch(c, member) -> Message:
    return Message.objects.get(campaign=c, member=member)


def outcome(m: Message) -> str:
    return m.refusal or m.state


@pytest.mark.django_db
@pytest.mark.parametrize("channel", CHANNELS)
def test_consent_dnd_and_whitelist_on_every_channel(now, channel):
    policy(cap_count=None, quiet_hours={})
    agreed, other_channel, silent, dnd, listed = members(5, now)
    for m in (agreed, dnd, listed):
        member_consents_set(member_id=m.pk, changes={channel: True}, source="t", now=now)
    member_consents_set(member_id=other_channel.pk, source="t", now=now,
                        changes={c: c != channel for c in CHANNELS})
    type(dnd).objects.filter(pk=dnd.pk).update(do_not_disturb=True)
    type(listed).objects.filter(pk=listed.pk).update(contact_whitelist=True)
    marketing = touching(now, "m", channel)
    service = touching(now, "s", channel, kind="service")
    everyone = [agreed, other_channel, silent, dnd, listed]
    for c in (marketing, service):
        campaign_act(campaign=c, occasion="once", member_ids=[m.pk for m in everyone], now=now)

    assert [outcome(touch(marketing, m)) for m in everyone] == [
        "queued", "no_consent", "no_consent", "dnd", "queued"]
    # service messages ignore consent and do-not-disturb
    assert [outcome(touch(service, m)) for m in everyone] == ["queued"] * 5
    assert {touch(service, m).kind for m in everyone} == {"service"}


@pytest.mark.django_db
def test_the_cap_counts_across_channels_and_spares_the_whitelist(now):
    policy(cap_count=2, cap_days=7, channel_caps={"sms": 1}, quiet_hours={})
    plain, listed = members(2, now, marketing_consent=True, consent_source="t")
    type(listed).objects.filter(pk=listed.pk).update(contact_whitelist=True)
    ids = [plain.pk, listed.pk]
    first, second_sms, wecom, ai = (touching(now, "a", "sms"), touching(now, "b", "sms"),
                                    touching(now, "c", "wecom"), touching(now, "d", "ai_call"))
    service = touching(now, "e", "sms", kind="service")
    for c in (first, second_sms, wecom, ai, service):
        campaign_act(campaign=c, occasion="once", member_ids=ids, now=now)

    # plain: 1 SMS (the channel's cap), then WeCom reaches the programme's 2
    assert [outcome(touch(c, plain)) for c in (first, second_sms, wecom, ai, service)] == [
        "queued", "capped", "queued", "capped", "queued"]
    assert [outcome(touch(c, listed)) for c in (first, second_sms, wecom, ai)] == ["queued"] * 4
    # a week later the period has rolled on
    later = touching(now, "f", "ai_call")
    campaign_act(campaign=later, occasion="once", member_ids=[plain.pk],
                 now=now + timedelta(days=7, seconds=1))
    assert outcome(touch(later, plain)) == "queued"


@pytest.mark.django_db
def test_refused_and_failed_touches_do_not_count_against_the_cap(now):
    policy(cap_count=1, quiet_hours={})
    (m,) = members(1, now, marketing_consent=True, consent_source="t")
    first, second = touching(now, "a"), touching(now, "b")
    campaign_act(campaign=first, occasion="once", member_ids=[m.pk], now=now)
    Message.objects.filter(campaign=first).update(state="dead", next_attempt_at=None)
    campaign_act(campaign=second, occasion="once", member_ids=[m.pk], now=now)
    assert outcome(touch(second, m)) == "queued"


def bj(hour: int, minute: int = 0, day: int = 14) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("at", "until"), [
    (bj(20, 59), None), (bj(21, 0), bj(9, 0, day=15)), (bj(23, 30), bj(9, 0, day=15)),
    (bj(0, 10), bj(9, 0)), (bj(8, 59), bj(9, 0)), (bj(9, 0), None),
])
def test_quiet_hours_on_the_beijing_clock(at, until):
    p = ContactPolicy(quiet_hours={"sms": ["21:00", "09:00"]})
    assert quiet_until(p, "sms", at) == until
    # the same moment in UTC is judged on the Beijing clock
    assert quiet_until(p, "sms", at.astimezone(datetime.now().astimezone().tzinfo)) == until
    assert quiet_until(p, "in_app", at) is None


@pytest.mark.django_db
def test_marketing_in_quiet_hours_waits_for_nine_or_is_refused(now):
    policy(cap_count=None)  # default quiet hours: SMS, calls, WeCom 21:00–09:00
    late = bj(22, 30)
    (m,) = members(1, now, marketing_consent=True, consent_source="t")
    waits = touching(late, "waits", "sms")
    ends_tonight = touching(late, "ends", "sms", ends_at=bj(23, 59))
    in_app = touching(late, "app", "in_app")
    service = touching(late, "svc", "sms", kind="service")
    for c in (waits, ends_tonight, in_app, service):
        campaign_act(campaign=c, occasion="once", member_ids=[m.pk], now=late)

    waiting = touch(waits, m)
    assert (waiting.state, waiting.due_at, waiting.next_attempt_at) == (
        "queued", bj(9, 0, day=15), bj(9, 0, day=15))
    assert outcome(touch(ends_tonight, m)) == "quiet_hours"
    assert (touch(in_app, m).state, touch(in_app, m).due_at) == ("queued", late)
    assert (touch(service, m).state, touch(service, m).due_at) == ("queued", late)


@pytest.mark.django_db
def test_refusals_count_in_the_campaign_results(now):
    policy(cap_count=None, quiet_hours={})
    agreed, silent, dnd = members(3, now)
    member_consents_set(member_id=agreed.pk, changes={"sms": True}, source="t", now=now)
    type(dnd).objects.filter(pk=dnd.pk).update(do_not_disturb=True)
    c = touching(now, "r")
    campaign_act(campaign=c, occasion="once", member_ids=[agreed.pk, silent.pk, dnd.pk],
                 now=now)
    results = campaign_results(c)
    assert results.touches == {"queued": 1, "refused:no_consent": 1, "refused:dnd": 1}
    assert results.refused == {"no_consent": 1, "dnd": 1}


@pytest.mark.django_db(transaction=True)
def test_two_racing_campaigns_cannot_both_pass_a_cap_of_one(now):
    """Campaign A's touch is written and its transaction held open; campaign B writes to
    the same member meanwhile: B waits for A's lock, then counts A's touch — capped."""
    policy(cap_count=1, quiet_hours={})
    (m,) = members(1, now, marketing_consent=True, consent_source="t")
    a, b = touching(now, "race-a"), touching(now, "race-b")
    a_wrote, errors = threading.Event(), []

    def run_a():
        try:
            with transaction.atomic():
                campaign_act(campaign=a, occasion="once", member_ids=[m.pk], now=now)
                a_wrote.set()
                time.sleep(0.5)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            a_wrote.set()
            connection.close()

    def run_b():
        try:
            a_wrote.wait(10)
            campaign_act(campaign=b, occasion="once", member_ids=[m.pk], now=now)
        except Exception as error:  # pragma: no cover
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_a), threading.Thread(target=run_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(outcome(x) for x in Message.objects.filter(member=m)) == ["capped", "queued"]
    assert outcome(touch(a, m)) == "queued"


@pytest.mark.django_db(transaction=True)
def test_many_racing_campaigns_pass_the_cap_once_per_member(now):
    policy(cap_count=1, quiet_hours={})
    people = members(20, now, marketing_consent=True, consent_source="t")
    ids = [p.pk for p in people]
    campaigns = [touching(now, f"swarm-{i}") for i in range(4)]
    start, errors = threading.Barrier(4), []

    def run(c):
        try:
            start.wait(10)
            campaign_act(campaign=c, occasion="once", member_ids=ids, now=now)
        except Exception as error:  # pragma: no cover
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in campaigns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with connection.cursor() as cursor:
        cursor.execute("""SELECT member_id, count(*) FILTER (WHERE state = 'queued'),
                                 count(*) FILTER (WHERE refusal = 'capped')
                          FROM campaigns_message GROUP BY member_id""")
        rows = cursor.fetchall()
    assert len(rows) == 20 and all((q, c) == (1, 3) for _m, q, c in rows)
