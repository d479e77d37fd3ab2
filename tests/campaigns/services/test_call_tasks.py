"""Clerk call tasks: a clerk_call touch, once sent, is a task on the counter page of the
member's home store with its script; the outcome form closes it once."""

from __future__ import annotations

import pytest

from campaigns.models import CampaignStatus, ContactPolicy, Message
from campaigns.services.act import campaign_act
from campaigns.services.delivery import messages_deliver
from members.selectors.consent import member_consents
from tests.campaigns.helpers import campaign, message_template
from tests.loyalty.counter.world import build_counter_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, monkeypatch):
    monkeypatch.setattr("campaigns.services.delivery._queue", lambda: None)
    p = ContactPolicy.load()
    p.cap_count, p.quiet_hours = None, {}
    p.save()
    return build_counter_world()


def call_tasks(world, now):
    from members.services.consent import member_consents_set
    for m in (world.member_a, world.member_b):
        member_consents_set(member_id=m.pk, changes={"clerk_call": True}, source="t", now=now)
    template = message_template(now, code="call", channel="clerk_call",
                                body="您好{name}，会员日送您双倍积分，欢迎到店")
    c = campaign(now, code="calls", actions=[("message", {"message_template": template})])
    c.status = CampaignStatus.RUNNING
    c.save()
    campaign_act(campaign=c, occasion="once", member_ids=[world.member_a.pk, world.member_b.pk],
                 now=now)
    assert messages_deliver(now=now)["sent"] == 2
    return c


def test_the_store_sees_its_members_tasks_and_records_the_outcome_once(client, world):
    from django.utils import timezone
    now = timezone.now()
    c = call_tasks(world, now)
    task_a = Message.objects.get(campaign=c, member=world.member_a)
    task_b = Message.objects.get(campaign=c, member=world.member_b)
    client.force_login(world.clerk_a)
    page = client.get("/counter/calls/").content.decode()
    assert "您好王小明，会员日送您双倍积分，欢迎到店" in page and "李四" not in page
    # another store's member's task is not this store's to close
    client.post(f"/counter/calls/{task_b.pk}/", {"outcome": "reached"})
    task_b.refresh_from_db()
    assert task_b.state == "sent"

    client.post(f"/counter/calls/{task_a.pk}/", {"outcome": "declined"})
    task_a.refresh_from_db()
    assert (task_a.state, task_a.call_outcome, task_a.called_by_id, task_a.called_store_id) == (
        "failed", "declined", world.clerk_a.pk, world.store_a.pk)
    assert member_consents(world.member_a.pk)["clerk_call"] is False
    again = client.post(f"/counter/calls/{task_a.pk}/", {"outcome": "reached"}, follow=True)
    assert any(m.level_tag == "error" for m in again.context["messages"])
    task_a.refresh_from_db()
    assert task_a.state == "failed"
    assert "王小明" not in client.get("/counter/calls/").content.decode()


def test_reached_is_delivered_and_a_bad_outcome_is_a_form_error(client, world):
    from django.utils import timezone
    now = timezone.now()
    c = call_tasks(world, now)
    client.force_login(world.clerk_b)
    task_b = Message.objects.get(campaign=c, member=world.member_b)
    bad = client.post(f"/counter/calls/{task_b.pk}/", {"outcome": "??"}, follow=True)
    assert bad.status_code == 200
    assert any(m.level_tag == "error" for m in bad.context["messages"])
    client.post(f"/counter/calls/{task_b.pk}/", {"outcome": "reached"})
    task_b.refresh_from_db()
    assert (task_b.state, task_b.call_outcome) == ("delivered", "reached")
