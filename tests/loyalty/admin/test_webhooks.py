"""Webhooks in the console: a programme admin subscribes a receiver, pings it, rotates its
secret, re-sends a delivery; a subscription switched off for failing is named to its owner.
The receiver is a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loyalty.models import WebhookDelivery, WebhookSubscription
from loyalty.roles import OPERATORS, PROGRAMME_ADMINS, roles_sync
from tests.loyalty.services.test_webhooks import Receiver, documented_verifier

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def staff(name: str, role: str):
    roles_sync()
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client, user


def test_a_programme_admin_subscribes_pings_rotates_and_resends(receiver):
    client, user = staff("progadmin", PROGRAMME_ADMINS)
    add = reverse("admin:loyalty_webhooksubscription_add")
    bad = client.post(add, {"name": "CRM", "url": "ftp://example.com/x",
                            "event_types": ["points.earned"], "is_active": "on"})
    assert bad.status_code == 200 and not WebhookSubscription.objects.exists()
    saved = client.post(add, {"name": "CRM", "url": receiver.url,
                              "event_types": ["points.earned", "tier.changed"],
                              "is_active": "on", "_save": "Save"})
    assert saved.status_code == 302
    sub = WebhookSubscription.objects.get()
    assert sub.owner == user and len(sub.secret) == 64
    assert sub.event_types == ["points.earned", "tier.changed"]

    changelist = reverse("admin:loyalty_webhooksubscription_changelist")
    client.post(changelist, {"action": "ping", "_selected_action": [sub.pk]})
    ping = WebhookDelivery.objects.get(event_type="ping")
    assert ping.state == "delivered" and ping.last_status == 200
    headers = {k.lower(): v for k, v in receiver.requests[-1]["headers"].items()}
    assert documented_verifier()["verify"](receiver.requests[-1]["body"], headers,
                                           sub.secret)["type"] == "ping"

    client.post(changelist, {"action": "rotate_secret", "_selected_action": [sub.pk]})
    rotated = WebhookSubscription.objects.get()
    assert rotated.secret != sub.secret and rotated.previous_secret == sub.secret

    deliveries = reverse("admin:loyalty_webhookdelivery_changelist")
    page = client.get(deliveries)
    assert page.status_code == 200 and "ping" in page.content.decode()
    client.post(deliveries, {"action": "resend", "_selected_action": [ping.pk]})
    ping.refresh_from_db()
    assert ping.state == "pending"


def test_an_operator_neither_sees_secrets_nor_resends():
    client, _user = staff("operator", OPERATORS)
    assert client.get(reverse("admin:loyalty_webhooksubscription_changelist")).status_code \
        == 403
    assert client.get(reverse("admin:loyalty_webhookdelivery_changelist")).status_code == 403


def test_the_owner_sees_a_notice_when_the_subscription_is_switched_off():
    client, user = staff("progadmin", PROGRAMME_ADMINS)
    now = timezone.now()
    WebhookSubscription.objects.create(
        name="ERP", url="http://127.0.0.1:9/", secret="s" * 64, event_types=["points.spent"],
        owner=user, is_active=False, failing_since=now - timedelta(days=1),
        switched_off_at=now, created_at=now)
    page = client.get(reverse("admin:loyalty_webhooksubscription_changelist"))
    notices = [str(m) for m in page.context["messages"]]
    assert any("ERP" in m for m in notices)
