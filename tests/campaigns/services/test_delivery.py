"""Delivering touches (campaigns.services.delivery, campaigns.channels) against PostgreSQL
and a real local HTTP receiver: exactly once through a timeout and through failures (the
idempotency key carried on every attempt), back-off, dead letters, the rate per channel,
the outbox backend, cost, nothing for a rolled-back transaction, a sender dying between its
call and its record."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.urls import reverse

from campaigns.models import CampaignStatus, ContactPolicy, Message, OutboxMessage
from campaigns.selectors.results import campaign_results
from campaigns.services.act import campaign_act
from campaigns.services.delivery import message_delivered, messages_claim, messages_deliver
from tests.campaigns.helpers import campaign, members, message_template

SECRET = "s3cret"


class Receiver:
    """A provider on 127.0.0.1: `mode` "slow" answers the first request of each key only
    after the client's timeout (having delivered it), "flaky" fails the first `failures`
    requests with 503, "down" always answers 500. It delivers each idempotency key once."""

    def __init__(self, mode: str, failures: int = 2, delay: float = 1.5):
        self.mode, self.failures, self.delay = mode, failures, delay
        self.requests: list[tuple[str, dict]] = []
        self.delivered: Counter = Counter()
        self.bad_signatures = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
                key = self.headers["Idempotency-Key"]
                with receiver.lock:
                    if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                        receiver.bad_signatures += 1
                    receiver.requests.append((key, json.loads(raw)))
                    n = len(receiver.requests)
                    first = key not in receiver.delivered
                if receiver.mode == "down" or (receiver.mode == "flaky"
                                               and n <= receiver.failures):
                    self.send_response(503 if receiver.mode == "flaky" else 500)
                    self.end_headers()
                    return
                with receiver.lock:
                    if first:
                        receiver.delivered[key] += 1  # delivered to the phone once per key
                if receiver.mode == "slow" and first:
                    time.sleep(receiver.delay)
                body = json.dumps({"status": "delivered", "id": key}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/send"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def channels(settings, **sms):
    settings.MESSAGE_CHANNELS = {**settings.MESSAGE_CHANNELS, "sms": {
        "backend": "campaigns.channels.OutboxBackend", "cost": "0", "per_minute": 600,
        "url": "", "secret": SECRET, **sms}}


@pytest.fixture(autouse=True)
def quiet_policy(db, monkeypatch):
    monkeypatch.setattr("campaigns.services.delivery._queue", lambda: None)
    p = ContactPolicy.load()
    p.cap_count, p.quiet_hours = None, {}
    p.save()


def queued(now, n: int = 2, code: str = "c", kind: str = "marketing"):
    people = members(n, now, prefix=f"1370{len(code):03d}", marketing_consent=True,
                     consent_source="t")
    template = message_template(now, code=f"t-{code}", kind=kind, body="{name}，春季活动开始了")
    c = campaign(now, code=code, actions=[("message", {"message_template": template})])
    c.status = CampaignStatus.RUNNING
    c.save()
    campaign_act(campaign=c, occasion="once", member_ids=[p.pk for p in people], now=now)
    assert Message.objects.filter(campaign=c, state="queued").count() == n
    return c


def test_the_outbox_backend_records_the_rendered_message_and_delivers(settings, now):
    channels(settings, cost="0.05")
    c = queued(now)
    assert messages_deliver(now=now) == {"delivered": 2, "sent": 0, "retry": 0, "dead": 0}
    assert messages_deliver(now=now)["delivered"] == 0  # nothing left
    rows = list(OutboxMessage.objects.order_by("message_id"))
    assert len(rows) == 2
    assert rows[0].body.startswith("【会员俱乐部】会员") and rows[0].body.endswith("拒收请回复TD")
    for m in Message.objects.filter(campaign=c):
        assert (m.state, m.attempts, m.delivered_at, m.cost) == ("delivered", 1, now,
                                                                Decimal("0.05"))
        assert m.body == OutboxMessage.objects.get(message_id=m.pk).body
    # the cost of the touches is the campaign's cost
    results = campaign_results(c)
    assert results.treated.message_cost == Decimal("0.10")
    assert results.treated.cost == Decimal("0.10")
    assert results.touches == {"delivered": 2}


def test_a_receiver_that_times_out_gets_each_message_once(settings, now):
    with Receiver("slow") as receiver:
        channels(settings, backend="campaigns.channels.HttpBackend", url=receiver.url)
        settings.MESSAGE_HTTP_TIMEOUT_SECONDS = 0.4
        c = queued(now)
        first = messages_deliver(now=now)
        assert first["retry"] == 2  # both timed out (the provider got them, though)
        assert {m.last_error for m in Message.objects.filter(campaign=c)} == {"timeout"}
        assert messages_deliver(now=now + timedelta(seconds=29))["retry"] == 0  # back-off
        second = messages_deliver(now=now + timedelta(seconds=31))
        assert second["delivered"] == 2

    keys = [key for key, _body in receiver.requests]
    ids = sorted(Message.objects.filter(campaign=c).values_list("id", flat=True))
    assert sorted(set(keys)) == sorted(f"message:{i}" for i in ids)
    assert Counter(keys) == Counter({f"message:{i}": 2 for i in ids})  # same key, retried
    assert receiver.delivered == Counter({f"message:{i}": 1 for i in ids})  # once each
    assert receiver.bad_signatures == 0
    assert set(Message.objects.filter(campaign=c).values_list("state", "attempts")) == {
        ("delivered", 2)}


def test_a_receiver_that_fails_then_recovers_gets_each_message_once(settings, now):
    with Receiver("flaky", failures=3) as receiver:
        channels(settings, backend="campaigns.channels.HttpBackend", url=receiver.url)
        c = queued(now)
        assert messages_deliver(now=now)["retry"] == 2
        m = Message.objects.filter(campaign=c).order_by("id").first()
        assert (m.last_error, m.next_attempt_at) == ("HTTP 503", now + timedelta(seconds=30))
        outcome = messages_deliver(now=now + timedelta(seconds=30))
        assert (outcome["retry"], outcome["delivered"]) == (1, 1)
        m.refresh_from_db()
        retried = Message.objects.get(campaign=c, state="queued")
        assert retried.next_attempt_at == now + timedelta(seconds=30 + 60)  # doubled
        assert messages_deliver(now=now + timedelta(seconds=90))["delivered"] == 1
    ids = Message.objects.filter(campaign=c).values_list("id", flat=True)
    assert receiver.delivered == Counter({f"message:{i}": 1 for i in ids})
    assert set(Message.objects.filter(campaign=c).values_list("state", flat=True)) == {
        "delivered"}


def test_dead_letter_after_the_last_attempt_with_its_reason_in_the_admin(settings, now,
                                                                         admin_client):
    settings.MESSAGE_MAX_ATTEMPTS = 3
    with Receiver("down") as receiver:
        channels(settings, backend="campaigns.channels.HttpBackend", url=receiver.url)
        c = queued(now, n=1)
        at = now
        for _ in range(3):
            messages_deliver(now=at)
            at += timedelta(hours=1)
        assert messages_deliver(now=at + timedelta(days=1)) == {
            "delivered": 0, "sent": 0, "retry": 0, "dead": 0}
    m = Message.objects.get(campaign=c)
    assert (m.state, m.attempts, m.last_error, m.cost) == ("dead", 3, "HTTP 500", 0)
    assert len(receiver.requests) == 3 and not receiver.delivered
    page = admin_client.get(reverse("admin:campaigns_message_changelist"),
                            {"state__exact": "dead"}).content.decode()
    assert "HTTP 500" in page


def test_the_rate_per_channel_bounds_each_minute(settings, now):
    channels(settings, per_minute=3)
    start = now.replace(second=10, microsecond=0)
    queued(now, n=7)
    assert messages_deliver(now=start)["delivered"] == 3
    assert messages_deliver(now=start + timedelta(seconds=40))["delivered"] == 0
    assert messages_deliver(now=start + timedelta(seconds=50))["delivered"] == 3
    assert messages_deliver(now=start + timedelta(seconds=110))["delivered"] == 1


def test_a_sender_that_dies_after_the_call_loses_and_doubles_nothing(settings, now):
    """The sender claims and calls the provider, then dies before recording: the lease runs
    out, the message is claimed again with the same key; the provider (and the outbox)
    deliver it once, the touch ends delivered once."""
    with Receiver("flaky", failures=0) as receiver:
        channels(settings, backend="campaigns.channels.HttpBackend", url=receiver.url)
        c = queued(now, n=1)
        claimed = messages_claim(channel="sms", now=now, limit=10)
        from campaigns.channels import backend_for
        backend_for("sms").send(claimed[0], now)  # … and the worker is killed here
        assert messages_deliver(now=now + timedelta(seconds=60))["delivered"] == 0  # leased
        assert messages_deliver(now=now + timedelta(seconds=121))["delivered"] == 1
        assert messages_deliver(now=now + timedelta(days=1))["delivered"] == 0
    m = Message.objects.get(campaign=c)
    assert (m.state, m.attempts) == ("delivered", 2)
    assert [key for key, _ in receiver.requests] == [f"message:{m.pk}"] * 2
    assert receiver.delivered == Counter({f"message:{m.pk}": 1})
    # the stale attempt's outcome, recorded late, changes nothing
    from campaigns.services.delivery import _record
    assert _record(claimed[0], now, delivered=None, error="late") == "retry"
    m.refresh_from_db()
    assert (m.state, m.last_error) == ("delivered", "")

    # the outbox backend likewise records a message once whatever the repeats
    channels(settings)
    d = queued(now, n=1, code="outbox")
    again = messages_claim(channel="sms", now=now, limit=10)
    from campaigns.channels import OutboxBackend
    OutboxBackend("sms", {}).send(again[0], now)
    messages_deliver(now=now + timedelta(seconds=121))
    assert OutboxMessage.objects.filter(message__campaign=d).count() == 1
    assert Message.objects.get(campaign=d).state == "delivered"


def test_a_delivery_receipt_marks_a_sent_message_delivered_once(settings, now):
    c = queued(now, n=1)
    m = Message.objects.get(campaign=c)
    assert not message_delivered(message_id=m.pk, now=now)  # not sent yet
    Message.objects.filter(pk=m.pk).update(state="sent", next_attempt_at=None)
    assert message_delivered(message_id=m.pk, now=now)
    assert not message_delivered(message_id=m.pk, now=now + timedelta(hours=1))
    m.refresh_from_db()
    assert (m.state, m.delivered_at) == ("delivered", now)


@pytest.mark.django_db(transaction=True)
def test_nothing_is_delivered_for_a_rolled_back_transaction(settings, now, monkeypatch):
    asked = []
    monkeypatch.setattr("campaigns.services.delivery._queue", lambda: asked.append(1))
    channels(settings)
    p = ContactPolicy.load()
    p.cap_count, p.quiet_hours = None, {}
    p.save()
    people = members(2, now, marketing_consent=True, consent_source="t")
    template = message_template(now, code="rb")
    c = campaign(now, code="rb", actions=[("message", {"message_template": template})])
    c.status = CampaignStatus.RUNNING
    c.save()

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        campaign_act(campaign=c, occasion="once", member_ids=[x.pk for x in people], now=now)
        assert Message.objects.filter(campaign=c).count() == 2
        raise Undo
    assert asked == [] and not Message.objects.filter(campaign=c).exists()
    assert messages_deliver(now=now)["delivered"] == 0
    assert not OutboxMessage.objects.exists()

    campaign_act(campaign=c, occasion="once", member_ids=[x.pk for x in people], now=now)
    assert asked == [1]  # asked for once the commit happened
    assert messages_deliver(now=now)["delivered"] == 2
