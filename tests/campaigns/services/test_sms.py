"""Mainland SMS rules (campaigns.services.sms): the 【brand】 signature, the unsubscribe
line on marketing SMS, parts of 70 / 67 characters, opt-out by reply (退订 / TD) through
the provider's signed callback, delivery receipts; and a template's variables checked
against the variant's actions when it is saved."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.urls import reverse

from campaigns.models import CampaignStatus, Message
from campaigns.services.messages import message_variables_missing
from campaigns.services.sms import render_for_channel, sms_inbound, sms_parts
from members.models import ConsentChange
from members.selectors.consent import member_consents
from tests.campaigns.helpers import campaign, members, message_template

SECRET = "cb-secret"


@pytest.mark.parametrize(("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3),
                                               (201, 3), (202, 4)])
def test_sms_parts_are_70_then_67_each(length, parts):
    assert sms_parts("字" * length) == parts


def test_signature_and_unsubscribe_line(settings):
    settings.SMS_SIGNATURE = "茶语"
    assert render_for_channel("sms", "marketing", "{name}您好", "", {"name": "王芳"}) == (
        "【茶语】王芳您好 拒收请回复TD")
    assert render_for_channel("sms", "service", "{name}您好", "花间", {"name": "王芳"}) == (
        "【花间】王芳您好")
    assert render_for_channel("wecom", "marketing", "{name}您好", "", {"name": "王芳"}) == (
        "王芳您好")


def test_missing_variables_are_named():
    body = "{name}：{points}积分、{coupon_value}元券"
    assert message_variables_missing(body, {"points", "message"}) == ["coupon_value"]
    assert message_variables_missing(body, {"points", "coupon", "message"}) == []


def signed(client, url: str, data: dict, secret: str = SECRET):
    body = json.dumps(data).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(url, body, content_type="application/json",
                       HTTP_X_SIGNATURE=signature)


@pytest.fixture
def sms_secret(settings):
    settings.MESSAGE_CHANNELS = {**settings.MESSAGE_CHANNELS, "sms": {
        **settings.MESSAGE_CHANNELS["sms"], "secret": SECRET}}


@pytest.mark.django_db
@pytest.mark.parametrize("reply", ["TD", " td ", "退订", "退订。"])
def test_an_opt_out_reply_withdraws_sms_consent(client, now, sms_secret, reply):
    (m,) = members(1, now, marketing_consent=True, consent_source="store")
    answer = signed(client, reverse("callback-sms-inbound"),
                    {"mobile": "+86 139 0000 0000", "text": reply})
    assert answer.status_code == 200 and answer.json() == {"opted_out": 1}
    consents = member_consents(m.pk)
    assert consents["sms"] is False and consents["wecom"] is True
    last = ConsentChange.objects.filter(member=m).latest("id")
    assert (last.channel, last.granted, last.source) == ("sms", False, "sms_reply")


@pytest.mark.django_db
def test_other_replies_and_bad_signatures_change_nothing(client, now, sms_secret):
    (m,) = members(1, now, marketing_consent=True, consent_source="store")
    url = reverse("callback-sms-inbound")
    assert signed(client, url, {"mobile": m.mobile, "text": "好的"}).json() == {"opted_out": 0}
    assert signed(client, url, {"mobile": m.mobile, "text": "TD"},
                  secret="wrong").status_code == 403
    assert client.post(url, {"mobile": m.mobile, "text": "TD"}).status_code == 403
    assert signed(client, url, {"mobile": 1, "text": "TD"}).status_code == 400
    assert member_consents(m.pk)["sms"] is True
    assert sms_inbound(mobile="not a number", text="TD") == []


@pytest.mark.django_db
def test_a_delivery_receipt_through_the_callback(client, now, sms_secret):
    (m,) = members(1, now, marketing_consent=True, consent_source="store")
    template = message_template(now)
    c = campaign(now, actions=[("message", {"message_template": template})])
    c.status = CampaignStatus.RUNNING
    c.save()
    from campaigns.services.act import campaign_act
    campaign_act(campaign=c, occasion="once", member_ids=[m.pk], now=now)
    message = Message.objects.get(campaign=c)
    Message.objects.filter(pk=message.pk).update(state="sent", next_attempt_at=None)
    url = reverse("callback-sms-receipt")
    assert signed(client, url, {"key": f"message:{message.pk}", "status": "delivered"}
                  ).json() == {"changed": True}
    assert signed(client, url, {"key": f"message:{message.pk}", "status": "delivered"}
                  ).json() == {"changed": False}
    assert signed(client, url, {"key": "message:x", "status": "delivered"}).status_code == 400
    message.refresh_from_db()
    assert message.state == "delivered" and message.delivered_at is not None


@pytest.mark.django_db
def test_the_variant_page_refuses_a_message_whose_variables_no_action_gives(admin_client, now):
    template = message_template(now, body="{name}，送您{coupon_value}元券")
    c = campaign(now, actions=[("points", {"points": 10})])
    variant = c.variants.get()
    url = reverse("admin:campaigns_campaignvariant_change", args=[variant.pk])
    from tests.admin_forms import form_data
    page = admin_client.get(url).content.decode()
    data = form_data(page, "campaignvariant_form")
    prefix = "actions"
    total = int(data[f"{prefix}-TOTAL_FORMS"][0] if isinstance(data[f"{prefix}-TOTAL_FORMS"], list)
                else data[f"{prefix}-TOTAL_FORMS"])
    data.update({f"{prefix}-TOTAL_FORMS": str(total + 1), f"{prefix}-{total}-kind": "message",
                 f"{prefix}-{total}-message_template": str(template.pk),
                 f"{prefix}-{total}-coupon_count": "1", f"{prefix}-{total}-variant": str(variant.pk)})
    answer = admin_client.post(url, data)
    assert answer.status_code == 200
    assert "{coupon_value}" in answer.content.decode()
    assert variant.actions.count() == 1
