"""A sender killed mid-delivery loses and doubles nothing: a real process runs the delivery
against a local receiver that holds its answer, is SIGKILLed while the provider holds the
message, and the next run (after the lease) sends it again with the same idempotency key —
the provider delivers it once, the touch ends delivered once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import CampaignStatus, ContactPolicy, Message
from campaigns.services.act import campaign_act
from campaigns.services.delivery import messages_deliver
from tests.campaigns.helpers import campaign, members, message_template

from .test_delivery import SECRET, Receiver, channels

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db(transaction=True)
def test_a_killed_sender_loses_and_doubles_nothing(settings, monkeypatch):
    monkeypatch.setattr("campaigns.services.delivery._queue", lambda: None)
    now = timezone.now()
    p = ContactPolicy.load()
    p.cap_count, p.quiet_hours = None, {}
    p.save()
    people = members(3, now, marketing_consent=True, consent_source="t")
    template = message_template(now, code="kill")
    c = campaign(now, code="kill", actions=[("message", {"message_template": template})])
    c.status = CampaignStatus.RUNNING
    c.save()
    campaign_act(campaign=c, occasion="once", member_ids=[x.pk for x in people], now=now)

    with Receiver("slow", delay=30) as receiver:
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
        child = subprocess.Popen(
            [sys.executable, "-c", "import django; django.setup(); "
             "from campaigns.services.delivery import messages_deliver; messages_deliver()"],
            cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "DATABASE_URL": url,
                 "DJANGO_SETTINGS_MODULE": "config.settings_test",
                 "MESSAGE_SMS_URL": receiver.url, "MESSAGE_SMS_SECRET": SECRET,
                 "MESSAGE_HTTP_TIMEOUT_SECONDS": "60"})
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.requests, "the sender never called the provider"
        os.killpg(child.pid, signal.SIGKILL)  # mid-call: the provider holds the first message
        child.wait(10)
        claimed = Message.objects.filter(campaign=c, attempts=1).count()
        assert claimed == 3 and not Message.objects.filter(campaign=c).exclude(
            state="queued").exists()

        receiver.mode, receiver.failures = "flaky", 0  # answers at once from now on
        channels(settings, backend="campaigns.channels.HttpBackend", url=receiver.url)
        assert messages_deliver(now=now + timedelta(seconds=30))["delivered"] == 0  # leased
        later = timezone.now() + timedelta(seconds=settings.MESSAGE_LEASE_SECONDS + 1)
        assert messages_deliver(now=later)["delivered"] == 3

    ids = list(Message.objects.filter(campaign=c).values_list("id", flat=True))
    assert receiver.delivered == Counter({f"message:{i}": 1 for i in ids})
    keys = Counter(key for key, _ in receiver.requests)
    assert keys[f"message:{min(ids)}"] == 2  # the first one: once by the killed sender, once again
    assert set(Message.objects.filter(campaign=c).values_list("state", "attempts")) == {
        ("delivered", 2)}
