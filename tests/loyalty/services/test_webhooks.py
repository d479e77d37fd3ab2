"""Webhooks end to end, against a real HTTP receiver on 127.0.0.1 (a `http.server` in a
thread): events read from the commit-ordered feed, signed, sent in order per member, retried
until the receiver recovers, never for a rolled-back transaction.

Every test is transactional: the feed shows only what has committed."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from campaigns.services.act import campaign_act
from loyalty.models import EventType, WebhookDelivery, WebhookSubscription
from loyalty.services.intake import record_return, record_sale, register_member
from loyalty.services.webhooks import (
    webhook_ping,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhooks_collect,
    webhooks_cursors_open,
    webhooks_send,
)
from members.services.members import MemberInput, member_set_status, member_update
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.models import PointsLot
from points.services.coupons import (
    coupon_issue,
    coupon_redeem,
    coupons_expire_due,
    coupons_restore_for_order,
)
from points.services.ledger import (
    points_expire_due,
    points_expiry_notices,
    points_spend,
    points_unlock_due,
)
from points.services.rewards import redemption_advance, redemption_cancel, reward_redeem
from tests.campaigns.feed_helpers import feed_settle
from tests.campaigns.helpers import campaign
from tests.points.catalog_helpers import basket, give_points, make_reward, make_template
from tests.tiers.helpers import attach, benefit, plan
from tiers.defaults import ensure_default_ladder
from tiers.models.paid import PaidPlan
from tiers.services.benefits import benefit_grants_issue
from tiers.services.paid import paid_lapse_due, paid_purchase

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[3] / "loyalty" / "api" / "docs.md"


def _example(path: Path) -> str:
    text = path.read_text()
    return re.search(r"<!-- webhook-verify -->\s*```python\n(.*?)```", text, re.S).group(1)


def documented_verifier() -> dict:
    """The Python example of loyalty/api/docs.md, run as it is written there (the README
    carries the same code)."""
    code = _example(DOCS)
    assert _example(DOCS.parents[2] / "README.md") == code
    scope: dict = {}
    exec(compile(code, str(DOCS), "exec"), scope)  # noqa: S102  (our own documentation)
    return scope


class Receiver:
    """Records every request; answers `fail_with` while it is set."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.fail_with or 200
                receiver.requests.append({"headers": dict(self.headers), "body": body,
                                          "status": status})
                answer = b'{"ok": true}' if status == 200 else b"down for maintenance"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/loyalty"

    def delivered(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests if r["status"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def ladder(transactional_db):
    ensure_default_ladder()  # a transactional test's flush removes the migration's


@pytest.fixture
def owner(db):
    return User.objects.create_user("hooks-owner", is_staff=True)


@pytest.fixture
def subscription(receiver, owner):
    sub = webhook_subscription_create(name="CRM", url=receiver.url,
                                      event_types=EventType.values, owner_id=owner.pk)
    webhooks_cursors_open()
    return sub


def _register(n: int):
    return register_member(data=MemberInput(mobile=f"1391111{n:04d}", name=f"会员{n}"),
                           now=timezone.now()).member


def _sale(store, member, order_no: str, amount: str = "300.00"):
    now = timezone.now()
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-1", category="tea", quantity=1,
                         gross_amount=Decimal(amount)),)), now=now).order


def _pump(now=None, rounds: int = 20) -> None:
    """Read the feed into the outbox and send until nothing more is due."""
    for _ in range(rounds):
        feed_settle()
        created = webhooks_collect(now=now)
        sent = webhooks_send(now=now)
        if not created and not sent:
            return


def _per_member(events: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for e in events:
        out.setdefault(e["data"]["member_id"], []).append(e)
    return out


# the ledger, coupon, tier and paid-purchase events: the first test; the profile, expiry
# notice, reward, benefit, lapse and campaign events: the second; together every type
FIRST = {"member.registered", "points.earned", "points.spent", "points.expired",
         "points.reversed", "tier.changed", "paid_membership.purchased", "coupon.issued",
         "coupon.redeemed", "coupon.expired", "coupon.restored"}
SECOND = {"member.updated", "member.closed", "points.expiring", "reward.redeemed",
          "reward.fulfilled", "reward.cancelled", "benefit.granted", "paid_membership.lapsed",
          "campaign.action_applied"}


def test_the_two_end_to_end_tests_cover_every_event_type():
    assert FIRST | SECOND == set(EventType.values) and not FIRST & SECOND


def test_every_event_type_is_delivered_once_in_commit_order_per_member(
        receiver, subscription, store):
    plan = PaidPlan.objects.create(code="annual", name="年卡", duration_months=12,
                                   price=Decimal("199.00"))
    member = _register(1)
    other = _register(2)
    sale = _sale(store, member, "W-1")        # earns points; first purchase: a tier
    _sale(store, other, "W-2")
    now = timezone.now()
    record_return(ret=ReturnInput(store_code=store.code, order_no="W-1R", sale_order_no="W-1",
                                  ordered_at=now, lines=(ReturnLineInput(1, 1),)), now=now)
    _sale(store, member, "W-3", "500.00")
    points_unlock_due(now=now + timedelta(days=40))
    points_spend(member_id=member.pk, points=10, source_key="spend-1", now=now)
    paid_purchase(member_id=member.pk, plan_code=plan.code, purchase_id="P-1",
                  amount=Decimal("199.00"), channel="api", now=now)
    template = make_template(now, name="满100减10", threshold=Decimal("100.00"),
                             amount=Decimal("10.00"))
    coupon = coupon_issue(template_id=template.pk, member_id=member.pk, now=now)
    coupon_redeem(code=coupon.code, member_id=member.pk, basket=basket("150.00"),
                  order_no="W-9", now=now)
    coupons_restore_for_order(member_id=member.pk, order_no="W-9", return_no="W-9R", now=now)
    coupon_issue(template_id=template.pk, member_id=other.pk, now=now)
    points_expire_due(now=now + timedelta(days=3 * 365))
    coupons_expire_due(now=now + timedelta(days=3 * 365))
    _pump()

    events = receiver.delivered()
    assert {e["type"] for e in events} == FIRST
    assert len({e["id"] for e in events}) == len(events) == len(receiver.requests)
    # each event once, and in the order the ledger and histories were written, per member
    rows = WebhookDelivery.objects.filter(subscription=subscription).order_by("pk")
    assert rows.count() == len(events)
    for member_id, received in _per_member(events).items():
        assert [e["id"] for e in received] == [
            str(d.event_id) for d in rows if d.member_id == member_id]
    assert all(d.state == "delivered" and d.last_status == 200 and d.last_latency_ms is not None
               for d in rows)
    mine = _per_member(events)[member.pk]
    assert mine[0]["type"] == "member.registered"
    kinds = [e["type"] for e in mine]
    assert kinds.index("coupon.issued") < kinds.index("coupon.redeemed") \
        < kinds.index("coupon.restored")
    assert _per_member(events)[other.pk][-1]["type"] == "coupon.expired"
    assert kinds.index("points.earned") < kinds.index("points.reversed") \
        < kinds.index("points.spent") < kinds.index("paid_membership.purchased") \
        < kinds.index("points.expired")
    earned = [e for e in mine if e["type"] == "points.earned"
              and e["data"]["order_id"] == sale.pk]
    assert len(earned) == 1 and earned[0]["data"]["points"] > 0
    # ids and figures only: no typed text (names, mobiles) in any payload
    for r in receiver.requests:
        assert "会员" not in r["body"].decode() and "1391111" not in r["body"].decode()
    # reading again sends nothing twice
    _pump()
    assert len(receiver.requests) == len(events)


def test_profile_expiry_reward_benefit_lapse_and_campaign_events_are_delivered_once(
        receiver, subscription, store):
    now = timezone.now()
    member, other = _register(21), _register(22)
    # a profile update names the fields it changed; freezing names the status; closing closes
    member_update(member_id=member.pk, data=MemberInput(name="新名字", region="上海"), now=now)
    member_update(member_id=member.pk, data=MemberInput(name="新名字"), now=now)  # no change
    member_set_status(member_id=other.pk, status="frozen", now=now)
    member_set_status(member_id=other.pk, status="active", now=now)
    # points expiring: noticed once per member and day, however often the job runs
    give_points(member.pk, 1000, now)
    expires = PointsLot.objects.filter(member=member).values_list("expires_at", flat=True)[0]
    soon = expires - timedelta(days=3)
    assert points_expiry_notices(now=soon) == 2  # both have registration points expiring too
    assert points_expiry_notices(now=soon + timedelta(hours=1)) == 0
    day = timezone.localtime(expires).date()
    due = sum(lot.remaining for lot in PointsLot.objects.filter(member=member)
              if timezone.localtime(lot.expires_at).date() == day)
    # a goods reward: redeemed, shipped (no event), delivered; another cancelled
    cup = make_reward(now, points_cost=100)
    first = reward_redeem(member_id=member.pk, reward_id=cup.pk, source_key="r-1",
                          fulfilment="shipping", now=now)
    redemption_advance(redemption_id=first.pk, state="shipped", tracking_no="SF1", now=now)
    redemption_advance(redemption_id=first.pk, state="delivered", now=now)
    second = reward_redeem(member_id=member.pk, reward_id=cup.pk, source_key="r-2",
                           fulfilment="shipping", now=now)
    redemption_cancel(redemption_id=second.pk, reason="顾客改主意", now=now)
    # a monthly benefit for the entry tier: one grant each
    attach(benefit("free-ship", "free_shipping", grant_period="monthly"), tier="registered")
    assert benefit_grants_issue(grant_period="monthly", now=now) == 2
    # a paid membership that ends and lapses
    paid_purchase(member_id=member.pk, plan_code=plan("monthly", months=1).code,
                  purchase_id="P-21", amount=Decimal("19.00"), channel="api", now=now)
    assert paid_lapse_due(now=now + timedelta(days=40)) == 1
    # a campaign acting on both
    c = campaign(now, code="hooks", actions=[("points", {"points": 5})])
    c.status = "running"
    c.save()
    assert campaign_act(campaign=c, occasion="once", member_ids=[member.pk, other.pk],
                        now=now)["acted"] == 2
    member_set_status(member_id=other.pk, status="closed", now=now)
    _pump()

    events = [e for e in receiver.delivered() if e["type"] in SECOND]
    by_type: dict[str, list[dict]] = {}
    for e in events:
        by_type.setdefault(e["type"], []).append(e["data"])
    assert set(by_type) == SECOND
    assert len({e["id"] for e in receiver.delivered()}) == len(receiver.requests)
    assert [(d["member_id"], d["fields"], d["status"]) for d in by_type["member.updated"]] == [
        (member.pk, ["name", "region"], None), (other.pk, ["status"], "frozen"),
        (other.pk, ["status"], "active")]
    assert [d["member_id"] for d in by_type["member.closed"]] == [other.pk]
    notice = next(d for d in by_type["points.expiring"] if d["member_id"] == member.pk)
    assert notice["points"] == due >= 1000
    assert notice["expires_on"] == str(timezone.localtime(expires).date())
    assert [d["redemption_id"] for d in by_type["reward.redeemed"]] == [first.pk, second.pk]
    assert [d["redemption_id"] for d in by_type["reward.fulfilled"]] == [first.pk]
    assert [(d["redemption_id"], d["state"]) for d in by_type["reward.cancelled"]] == [
        (second.pk, "cancelled")]
    assert sorted(d["member_id"] for d in by_type["benefit.granted"]) == sorted(
        [member.pk, other.pk])
    assert [d["member_id"] for d in by_type["paid_membership.lapsed"]] == [member.pk]
    assert sorted((d["member_id"], d["campaign_id"]) for d in by_type[
        "campaign.action_applied"]) == sorted([(member.pk, c.pk), (other.pk, c.pk)])
    # per member in the order written: the update before the expiry notice before the rewards
    mine = [e["type"] for e in receiver.delivered() if e["data"]["member_id"] == member.pk]
    assert mine.index("member.updated") < mine.index("points.expiring") \
        < mine.index("reward.redeemed") < mine.index("reward.fulfilled") \
        < mine.index("reward.cancelled") < mine.index("benefit.granted") \
        < mine.index("paid_membership.lapsed") < mine.index("campaign.action_applied")
    # ids and figures only: nothing typed about the member (names, the cancel reason)
    for r in receiver.requests:
        body = r["body"].decode()
        assert "新名字" not in body and "顾客改主意" not in body and "1391111" not in body
    _pump()
    assert len({e["id"] for e in receiver.delivered()}) == len(receiver.requests)


def test_a_failing_receiver_that_recovers_gets_everything_in_order_once(
        receiver, subscription, store):
    members = [_register(10 + i) for i in range(3)]
    for i, m in enumerate(members):
        _sale(store, m, f"R-{i}")
    receiver.fail_with = 503
    start = timezone.now()
    _pump(now=start)
    # only the head of each member's queue was tried; nothing later went out
    assert receiver.requests and not receiver.delivered()
    assert len(receiver.requests) == len(members)
    failing = WebhookDelivery.objects.filter(attempts=1)
    assert {d.last_status for d in failing} == {503}
    assert all(d.last_response.startswith("down") for d in failing)
    assert WebhookSubscription.objects.get().failing_since == start
    # retried with back-off while it keeps failing
    for minutes in (1, 2, 4, 8):
        _pump(now=start + timedelta(minutes=minutes))
    tries = WebhookDelivery.objects.order_by("-attempts").first()
    assert 3 <= tries.attempts <= 6
    receiver.fail_with = None
    later = start + timedelta(hours=2)
    for step in range(10):
        _pump(now=later + timedelta(hours=step))
    events = receiver.delivered()
    assert len({e["id"] for e in events}) == len(events) \
        == WebhookDelivery.objects.count()
    assert not WebhookDelivery.objects.exclude(state="delivered").exists()
    expected = {m.pk: list(WebhookDelivery.objects.filter(member_id=m.pk).order_by("pk")
                           .values_list("event_type", flat=True)) for m in members}
    assert {k: [e["type"] for e in v] for k, v in _per_member(events).items()} == expected
    assert all(v[0] == "member.registered" for v in expected.values())
    assert WebhookSubscription.objects.get().failing_since is None


def test_a_failing_member_holds_back_only_its_own_later_events(receiver, subscription, store):
    a, b = _register(20), _register(21)
    _pump()
    first = len(receiver.requests)

    # the receiver refuses member a's events only
    original = receiver.server.RequestHandlerClass.do_POST

    def do_post(handler):
        length = int(handler.headers["Content-Length"])
        body = handler.rfile.read(length)
        status = 500 if json.loads(body)["data"]["member_id"] == a.pk else 200
        receiver.requests.append({"headers": dict(handler.headers), "body": body,
                                  "status": status})
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    receiver.server.RequestHandlerClass.do_POST = do_post
    try:
        _sale(store, a, "H-1")
        _sale(store, a, "H-3")
        _sale(store, b, "H-2")
        _pump()
    finally:
        receiver.server.RequestHandlerClass.do_POST = original
    new = [json.loads(r["body"]) | {"status": r["status"]} for r in receiver.requests[first:]]
    to_a = [e for e in new if e["data"]["member_id"] == a.pk]
    to_b = [e for e in new if e["data"]["member_id"] == b.pk]
    assert len(to_a) == 1 and to_a[0]["status"] == 500     # a's first event, nothing after
    assert to_b and all(e["status"] == 200 for e in to_b)
    assert WebhookDelivery.objects.filter(member_id=a.pk, state="pending").count() > 1


def test_a_rolled_back_transaction_sends_nothing(receiver, subscription, store):
    with pytest.raises(RuntimeError), transaction.atomic():
        member = _register(30)
        _sale(store, member, "X-1")
        raise RuntimeError("the caller gives up")
    kept = _register(31)
    _pump()
    assert {e["data"]["member_id"] for e in receiver.delivered()} == {kept.pk}
    assert WebhookDelivery.objects.exclude(member_id=kept.pk).count() == 0
    assert WebhookDelivery.objects.filter(event_type="member.registered").count() == 1


def test_signatures_verify_with_the_documented_example_and_rotation_keeps_both(
        receiver, subscription, owner):
    verify = documented_verifier()["verify"]
    ping = webhook_ping(subscription_id=subscription.pk)
    assert ping.state == "delivered" and ping.last_status == 200
    request = receiver.requests[-1]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-loyalty-event-id"] == str(ping.event_id)
    event = verify(request["body"], headers, subscription.secret)
    assert event["id"] == str(ping.event_id) and event["type"] == "ping"
    with pytest.raises(ValueError):
        verify(request["body"], headers, "wrong-secret")
    with pytest.raises(ValueError):
        verify(request["body"].replace(b"ping", b"pong"), headers, subscription.secret)
    with pytest.raises(ValueError):  # replayed ten minutes later
        verify(request["body"], headers, subscription.secret, now=time.time() + 600)
    # rotation: both secrets verify during the change
    old = subscription.secret
    new = webhook_secret_rotate(subscription_id=subscription.pk)
    webhook_ping(subscription_id=subscription.pk)
    request = receiver.requests[-1]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert verify(request["body"], headers, old)["type"] == "ping"
    assert verify(request["body"], headers, new)["type"] == "ping"


@override_settings(EMAIL_HOST="smtp.example.com",
                   EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_a_subscription_failing_for_a_day_is_switched_off_and_queues_on(
        receiver, subscription, store, owner):
    owner.email = "owner@example.com"
    owner.save()
    member = _register(40)
    receiver.fail_with = 500
    start = timezone.now()
    _pump(now=start)
    assert mail.outbox == []
    _pump(now=start + timedelta(hours=25))
    sub = WebhookSubscription.objects.get()
    assert not sub.is_active and sub.switched_off_at is not None
    # the owner is told once, in Chinese, by email (the server sends email)
    (email,) = mail.outbox
    assert email.to == ["owner@example.com"] and "CRM" in email.subject
    assert "已停用" in email.subject or "停用" in email.body
    tried = len(receiver.requests)
    _sale(store, member, "OFF-1")
    feed_settle()
    _pump(now=start + timedelta(hours=26))
    assert len(receiver.requests) == tried          # switched off: nothing sent
    assert WebhookDelivery.objects.filter(state="pending").exists()  # but kept


def test_delivery_throughput_to_a_local_receiver(receiver, subscription, capsys):
    for n in range(100):
        _register(100 + n)
    feed_settle()
    webhooks_collect()
    count = WebhookDelivery.objects.filter(state="pending").count()
    started = time.perf_counter()
    webhooks_send()
    elapsed = time.perf_counter() - started
    assert count >= 100 and len(receiver.delivered()) == count
    with capsys.disabled():
        print(f"\nwebhook throughput: {count / elapsed:.0f} events/s "
              f"({count} in {elapsed:.2f} s)")


def test_after_24_hours_a_delivery_is_given_up_and_the_members_next_events_go(
        receiver, subscription, store):
    member = _register(50)
    receiver.fail_with = 500
    start = timezone.now()
    _pump(now=start)
    held = WebhookDelivery.objects.filter(member_id=member.pk).order_by("pk")
    head = held[0]
    assert head.attempts == 1 and all(d.attempts == 0 for d in held[1:])
    _pump(now=start + timedelta(hours=24, minutes=1))   # the second try, a day later
    head.refresh_from_db()
    assert head.state == "failed" and head.attempts == 2
    assert not WebhookSubscription.objects.get().is_active   # failing for a day too
    WebhookSubscription.objects.update(is_active=True, switched_off_at=None,
                                       failing_since=None)
    receiver.fail_with = None
    _pump(now=start + timedelta(hours=24, minutes=2))
    assert [e["id"] for e in receiver.delivered()] == [str(d.event_id) for d in held[1:]]


def test_the_task_reads_the_feed_and_sends(receiver, subscription):
    from loyalty.tasks import send_webhooks
    member = _register(60)
    feed_settle()
    outcome = send_webhooks()
    assert outcome["created"] >= 1 and outcome["attempts"] == outcome["created"]
    assert {e["data"]["member_id"] for e in receiver.delivered()} == {member.pk}


def test_no_email_when_the_server_sends_none(receiver, subscription, owner):
    owner.email = "owner@example.com"
    owner.save()
    _register(41)
    receiver.fail_with = 500
    start = timezone.now()
    _pump(now=start)
    _pump(now=start + timedelta(hours=25))
    assert not WebhookSubscription.objects.get().is_active
    assert mail.outbox == []
