"""Webhooks: events read from the commit-ordered feed into the outbox, then sent signed.

Reading (`webhooks_collect`): one `FeedCursor` per history table (`webhooks:<source>`),
read in a transaction of its own — never inside the transaction that wrote the rows, so a
rolled-back transaction sends nothing and nothing committed is missed. All sources are read
under one REPEATABLE READ snapshot, hence up to the same bound: every event below it, from
every table, is in the outbox when the transaction commits, and the next read only finds
later transactions. The rows are inserted in (txid, source, id) order, so a member's events
have increasing delivery ids in commit order. Cursors advance in the same transaction as the
inserts; reading again is harmless (UNIQUE subscription + source row).

Sending (`webhooks_send`): the head of each (subscription, member) queue that is due is
claimed in a short transaction (its next attempt is pushed `LEASE` ahead), sent outside any
transaction, and its outcome written in another short one. A failure holds back only that
member's later events for that subscription; it is retried with exponential back-off, and
given up after `GIVE_UP` (the next events then go). A subscription whose receiver has failed
for `SWITCH_OFF` is switched off; its events keep queueing until it is switched back on.

Signature: `X-Loyalty-Signature: v1=<hex>` where hex is HMAC-SHA256 of
"<X-Loyalty-Timestamp>.<body>" with the secret (two `v1=` values, comma-separated, while a
secret is being rotated). Receivers reject a timestamp more than `TOLERANCE` from their clock.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns.selectors.feed import FeedRow
from campaigns.services.feed import feed_consume, feed_cursor_open
from core.clock import resolve_now

from ..models.webhooks import PING, EventType, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

TOLERANCE = timedelta(minutes=5)
GIVE_UP = timedelta(hours=24)
SWITCH_OFF = timedelta(hours=24)
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
TIMEOUT_SECONDS = 10
ROTATION_OVERLAP = timedelta(hours=24)
USER_AGENT = "loyalty-webhooks/1"

# the feed's sources in the order events of one transaction are sent
SOURCES = ("members", "member_changes", "points_entries", "expiry_notices", "coupon_events",
           "redemption_changes", "tier_changes", "benefit_grants", "paid_purchases",
           "paid_lapses", "campaign_actions")
POINTS_KINDS = {"earn": EventType.POINTS_EARNED, "spend": EventType.POINTS_SPENT,
                "expire": EventType.POINTS_EXPIRED, "reverse": EventType.POINTS_REVERSED}
COUPON_KINDS = {"issued": EventType.COUPON_ISSUED, "redeemed": EventType.COUPON_REDEEMED,
                "expired": EventType.COUPON_EXPIRED, "restored": EventType.COUPON_RESTORED}
REDEMPTION_STEPS = {"redeemed": EventType.REWARD_REDEEMED, "fulfilled": EventType.REWARD_FULFILLED,
                    "cancelled": EventType.REWARD_CANCELLED}


def cursor_name(source: str) -> str:
    return f"webhooks:{source}"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def event_of(row: FeedRow) -> tuple[str, dict] | None:
    """The event type and the data of a feed row (ids, codes and figures only, never text
    someone typed), or None when the row is not an event."""
    v = row.values
    if row.source == "members":
        return EventType.MEMBER_REGISTERED, {
            "member_id": row.member_id, "registered_at": _iso(v["created_at"]),
            "channel": v["source_channel"], "referrer_id": v["referrer_id"]}
    if row.source == "member_changes":
        if v["kind"] == "closed":
            return EventType.MEMBER_CLOSED, {"member_id": row.member_id,
                                             "at": _iso(v["created_at"])}
        return EventType.MEMBER_UPDATED, {
            "member_id": row.member_id, "change_id": row.id,
            # the names of what changed, never the values; a status change names "status"
            "fields": list(v["fields"]) if v["kind"] == "updated" else ["status"],
            "status": None if v["kind"] == "updated" else v["kind"],
            "at": _iso(v["created_at"])}
    if row.source == "expiry_notices":
        return EventType.POINTS_EXPIRING, {"member_id": row.member_id, "notice_id": row.id,
                                           "points": v["points"],
                                           "expires_on": _iso(v["expires_on"]),
                                           "at": _iso(v["created_at"])}
    if row.source == "redemption_changes":
        kind = REDEMPTION_STEPS.get(v["step"])
        if kind is None:
            return None
        return kind, {"member_id": row.member_id, "redemption_id": v["redemption_id"],
                      "state": v["state"], "at": _iso(v["created_at"])}
    if row.source == "benefit_grants":
        return EventType.BENEFIT_GRANTED, {
            "member_id": row.member_id, "grant_id": row.id, "benefit_id": v["benefit_id"],
            "period": v["period"], "tier_id": v["tier_id"], "plan_id": v["plan_id"],
            "quantity": v["quantity"], "expires_at": _iso(v["expires_at"]),
            "at": _iso(v["granted_at"])}
    if row.source == "paid_lapses":
        return EventType.PAID_MEMBERSHIP_LAPSED, {
            "member_id": row.member_id, "lapse_id": row.id, "plan_id": v["plan_id"],
            "ended_at": _iso(v["ended_at"]), "at": _iso(v["created_at"])}
    if row.source == "campaign_actions":
        return EventType.CAMPAIGN_ACTION_APPLIED, {
            "member_id": row.member_id, "campaign_id": v["campaign_id"],
            "occasion": v["occasion"], "variant_id": v["variant_id"],
            "at": _iso(v["acted_at"])}
    if row.source == "points_entries":
        kind = POINTS_KINDS.get(v["kind"])
        if kind is None:
            return None
        return kind, {"member_id": row.member_id, "entry_id": row.id,
                      "points": v["available_delta"] + v["pending_delta"],
                      "available_change": v["available_delta"],
                      "pending_change": v["pending_delta"], "order_id": v["order_id"],
                      "at": _iso(v["created_at"])}
    if row.source == "coupon_events":
        kind = COUPON_KINDS.get(v["kind"])
        if kind is None or row.member_id is None:
            return None
        return kind, {"member_id": row.member_id, "coupon_id": v["coupon_id"],
                      "coupon_event_id": row.id,
                      "discount": str(v["discount"]) if v["discount"] is not None else None,
                      "at": _iso(v["created_at"])}
    if row.source == "tier_changes":
        return EventType.TIER_CHANGED, {
            "member_id": row.member_id, "tier_change_id": row.id,
            "from_tier_id": v["from_tier_id"], "to_tier_id": v["to_tier_id"],
            "at": _iso(v["created_at"])}
    if row.source == "paid_purchases":
        return EventType.PAID_MEMBERSHIP_PURCHASED, {
            "member_id": row.member_id, "purchase_id": row.id, "plan_id": v["plan_id"],
            "kind": v["kind"], "period_start": _iso(v["period_start"]),
            "period_end": _iso(v["period_end"]), "at": _iso(v["created_at"])}
    return None


def webhooks_cursors_open(*, now: datetime | None = None) -> None:
    """The feed cursors, opened at the horizon on first use: events from now on."""
    for source in SOURCES:
        feed_cursor_open(name=cursor_name(source), source=source, now=now)


def _receiving() -> list[WebhookSubscription]:
    # an owner's switch-off stops the queue; a switch-off for failing keeps it, so nothing
    # is lost when the receiver is back and the subscription is switched on again
    return list(WebhookSubscription.objects.filter(
        Q(is_active=True) | Q(switched_off_at__isnull=False)))


def webhooks_collect(*, batch: int = 1000, now: datetime | None = None) -> int:
    """Read the feed into the outbox; returns the deliveries created."""
    now = resolve_now(now)
    webhooks_cursors_open(now=now)
    with transaction.atomic():
        with connection.cursor() as cursor:  # one snapshot, one bound, for every source
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows: list[FeedRow] = []
        for source in SOURCES:
            feed_consume(name=cursor_name(source), handle=rows.extend, batch=batch, now=now)
        rank = {s: i for i, s in enumerate(SOURCES)}
        rows.sort(key=lambda r: (r.txid, rank[r.source], r.id))
        subscriptions = _receiving()
        deliveries = []
        for row in rows:
            event = event_of(row)
            if event is None:
                continue
            kind, data = event
            for sub in subscriptions:
                if kind in sub.event_types:
                    deliveries.append(WebhookDelivery(
                        subscription=sub, event_key=f"{row.source}:{row.id}",
                        event_type=kind, member_id=row.member_id,
                        payload={"type": kind, "data": data},
                        next_attempt_at=now, created_at=now))
        WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000,
                                            ignore_conflicts=True)
    return len(deliveries)


# ---- signing -------------------------------------------------------------------------

def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                    hashlib.sha256).hexdigest()


def signature_header(sub: WebhookSubscription, timestamp: int, body: bytes,
                     now: datetime) -> str:
    keys = [sub.secret]
    if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now:
        keys.append(sub.previous_secret)
    return ",".join(f"v1={webhook_signature(k, timestamp, body)}" for k in keys)


def delivery_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps({"id": str(delivery.event_id), "type": delivery.event_type,
                       "created_at": delivery.created_at.isoformat(),
                       "data": delivery.payload.get("data", {})},
                      separators=(",", ":"), sort_keys=True).encode()


# ---- subscriptions -------------------------------------------------------------------

def _event_types(event_types: Iterable[str]) -> list[str]:
    chosen = set(event_types)
    unknown = chosen - set(EventType.values)
    if unknown:
        raise ValueError(f"unknown event types: {sorted(unknown)}")
    return sorted(chosen)


def webhook_subscription_create(*, name: str, url: str, event_types: Iterable[str],
                                owner_id: int, is_active: bool = True,
                                now: datetime | None = None) -> WebhookSubscription:
    now = resolve_now(now)
    return WebhookSubscription.objects.create(
        name=name, url=url, event_types=_event_types(event_types), owner_id=owner_id,
        is_active=is_active, secret=secrets.token_hex(32), created_at=now)


def webhook_subscription_update(*, subscription_id: int, name: str, url: str,
                                event_types: Iterable[str], owner_id: int,
                                is_active: bool) -> None:
    """Switching a subscription on again clears its failure record: its queued events go
    out, in order, from the next run."""
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
        if is_active and not sub.is_active:
            sub.failing_since = sub.switched_off_at = None
        sub.name, sub.url, sub.owner_id, sub.is_active = name, url, owner_id, is_active
        sub.event_types = _event_types(event_types)
        sub.save()


def webhook_secret_rotate(*, subscription_id: int, now: datetime | None = None) -> str:
    """A new secret; the old one keeps signing too for `ROTATION_OVERLAP`."""
    now = resolve_now(now)
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
        sub.previous_secret, sub.secret = sub.secret, secrets.token_hex(32)
        sub.previous_secret_until = now + ROTATION_OVERLAP
        sub.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return sub.secret


def webhook_ping(*, subscription_id: int, now: datetime | None = None) -> WebhookDelivery:
    """A test event sent at once, whether the subscription is on or not."""
    now = resolve_now(now)
    delivery = WebhookDelivery.objects.create(
        subscription_id=subscription_id, event_key=f"ping:{secrets.token_hex(8)}",
        event_type=PING, member_id=None, payload={"type": PING, "data": {}},
        next_attempt_at=now + LEASE, created_at=now)
    _record(delivery, _send(delivery, now), now, ping=True)
    delivery.refresh_from_db()
    return delivery


def webhook_resend(*, delivery_ids: Iterable[int], now: datetime | None = None) -> int:
    """Send again, from the next run (same event id: the receiver deduplicates); its 24
    hours of retries start again."""
    now = resolve_now(now)
    return WebhookDelivery.objects.filter(pk__in=list(delivery_ids)).update(
        state=WebhookDelivery.State.PENDING, next_attempt_at=now, created_at=now)


# ---- sending -------------------------------------------------------------------------

@dataclass
class Outcome:
    ok: bool
    status: int | None
    latency_ms: int
    response: str
    error: str


def _send(delivery: WebhookDelivery, now: datetime) -> Outcome:
    sub = delivery.subscription
    body = delivery_body(delivery)
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-Loyalty-Event-Id": str(delivery.event_id),
               "X-Loyalty-Event-Type": delivery.event_type,
               "X-Loyalty-Timestamp": str(timestamp),
               "X-Loyalty-Signature": signature_header(sub, timestamp, body, now)}
    parts = urlsplit(sub.url)
    conn_class = (http.client.HTTPSConnection if parts.scheme == "https"
                  else http.client.HTTPConnection)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    try:
        conn = conn_class(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            excerpt = response.read(500).decode("utf-8", "replace")
            status = response.status
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, None, int((time.monotonic() - started) * 1000), "",
                       f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(200 <= status < 300, status, int((time.monotonic() - started) * 1000),
                   excerpt, "")


def retry_delay(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … doubling, at most an hour apart."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def _record(delivery: WebhookDelivery, outcome: Outcome, now: datetime, ping: bool = False):
    with transaction.atomic():
        d = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        d.attempts += 1
        d.last_attempt_at = now
        d.last_status, d.last_latency_ms = outcome.status, outcome.latency_ms
        d.last_response, d.last_error = outcome.response, outcome.error
        if outcome.ok:
            d.state, d.delivered_at = WebhookDelivery.State.DELIVERED, now
        elif ping or now - d.created_at >= GIVE_UP:
            d.state = WebhookDelivery.State.FAILED
        else:
            d.next_attempt_at = now + retry_delay(d.attempts)
        d.save()
        if ping:
            return
        sub = WebhookSubscription.objects.select_for_update().get(pk=d.subscription_id)
        if outcome.ok:
            if sub.failing_since is not None:
                sub.failing_since = None
                sub.save(update_fields=["failing_since"])
        else:
            sub.failing_since = sub.failing_since or now
            if sub.is_active and now - sub.failing_since >= SWITCH_OFF:
                sub.is_active, sub.switched_off_at = False, now
                transaction.on_commit(lambda: webhook_owner_told(subscription_id=sub.pk))
            sub.save(update_fields=["failing_since", "is_active", "switched_off_at"])


def webhook_owner_told(*, subscription_id: int) -> bool:
    """Email the owner of a subscription switched off for failing, when the server sends
    email (`EMAIL_HOST` set) and the owner has an address; the console shows the same
    notice on the subscriptions page. Returns whether an email went out; a mail server
    that fails is logged, never raised into the sender's run."""
    sub = WebhookSubscription.objects.select_related("owner").get(pk=subscription_id)
    if not settings.EMAIL_HOST or not sub.owner.email:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Webhook subscription “%(name)s” was switched off") % {"name": sub.name}
        body = _("Its receiver %(url)s has failed for a day, so the subscription was switched "
                 "off at %(at)s. Its events are kept and go out in order when it is switched "
                 "on again in the console.") % {
            "url": sub.url, "at": timezone.localtime(sub.switched_off_at).strftime(
                "%Y-%m-%d %H:%M")}
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [sub.owner.email])
    except OSError:
        logger.exception("webhook switch-off email to the owner of subscription %s failed",
                         sub.pk)
        return False
    return True


DUE_SQL = """
    SELECT d.id FROM loyalty_webhookdelivery d
      JOIN loyalty_webhooksubscription s ON s.id = d.subscription_id AND s.is_active
     WHERE d.state = 'pending' AND d.next_attempt_at <= %s
       AND NOT EXISTS (SELECT 1 FROM loyalty_webhookdelivery e
                        WHERE e.subscription_id = d.subscription_id
                          AND e.member_id = d.member_id
                          AND e.state = 'pending' AND e.id < d.id)
     ORDER BY d.id
     LIMIT %s
       FOR UPDATE OF d SKIP LOCKED"""


def _claim(now: datetime, limit: int) -> list[WebhookDelivery]:
    """The due heads of the queues, leased: another sender skips them until the lease ends
    (a sender that dies mid-send leaves them to be sent again)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(DUE_SQL, [now, limit])
            ids = [r[0] for r in cursor.fetchall()]
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return list(WebhookDelivery.objects.filter(pk__in=ids).select_related("subscription")
                .order_by("pk"))


def webhooks_send(*, batch: int = 200, max_seconds: float = 50,
                  now: datetime | None = None) -> int:
    """Send what is due; returns the attempts made. `now` fixed by a caller (tests) is used
    for every attempt; otherwise the clock is read before each claim."""
    fixed = now
    attempts = 0
    started = time.monotonic()
    while time.monotonic() - started < max_seconds:
        moment = fixed or timezone.now()
        claimed = _claim(moment, batch)
        if not claimed:
            break
        for delivery in claimed:
            _record(delivery, _send(delivery, moment), fixed or timezone.now())
            attempts += 1
    return attempts


def webhooks_run(*, now: datetime | None = None) -> dict[str, int]:
    """The task's work: read the feed into the outbox, then send what is due. A collect
    that lost a race for the cursors (another run moved them after this one's snapshot)
    leaves the reading to the next run."""
    try:
        created = webhooks_collect(now=now)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "40001":  # serialization_failure
            raise
        created = 0
    return {"created": created, "attempts": webhooks_send(now=now)}
