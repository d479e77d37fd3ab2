"""The campaign pages as an operator uses them: the list, the plain-words edit page, launch
behind a confirmation with the audience size, a test send, copy."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus, Message
from campaigns.selectors.campaigns import campaign_summary
from campaigns.services.plays import campaign_plays_install
from tests.campaigns.helpers import members

pytestmark = pytest.mark.django_db


def test_list_edit_page_in_plain_words_copy_and_launch(admin_client, now):
    members(3, now)
    plays = {c.code: c for c in campaign_plays_install(now=now)}
    member_day = plays["play-member-day"]
    assert campaign_summary(member_day) == "每周三 · 全体有效会员 · 购物积分 ×2"
    listing = admin_client.get(reverse("admin:campaigns_campaign_changelist"))
    assert listing.status_code == 200 and "会员日" in listing.content.decode()
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[member_day.pk]))
    assert "每周三 · 全体有效会员 · 购物积分 ×2" in page.content.decode()
    # copy the template, then launch the copy behind its confirmation
    admin_client.post(reverse("admin:campaigns_campaign_changelist"),
                      {"action": "copy", "_selected_action": [member_day.pk]})
    copy = Campaign.objects.get(code="play-member-day-copy")
    assert copy.status == CampaignStatus.DRAFT and not copy.is_template
    assert copy.run_time == time(0, 0) and copy.weekdays == [3]
    launch = reverse("admin:campaigns_campaign_launch", args=[copy.pk])
    confirm = admin_client.get(launch)
    assert "3" in confirm.content.decode() and confirm.status_code == 200
    copy.refresh_from_db()
    assert copy.status == CampaignStatus.DRAFT  # opening the page launches nothing
    assert admin_client.post(launch).status_code == 302
    copy.refresh_from_db()
    assert copy.status == CampaignStatus.SCHEDULED
    # a template itself cannot be launched: the page says why
    refused = admin_client.post(reverse("admin:campaigns_campaign_launch",
                                        args=[member_day.pk]))
    assert refused.status_code == 200 and "请先复制" in refused.content.decode()
    member_day.refresh_from_db()
    assert member_day.status == CampaignStatus.DRAFT


def test_test_send_queues_a_test_message_and_shows_the_text(admin_client, now):
    member, = members(1, now)
    birthday = {c.code: c for c in campaign_plays_install(now=now)}["play-birthday-month"]
    url = reverse("admin:campaigns_campaign_test_send", args=[birthday.pk])
    page = admin_client.post(url, {"mobile": member.mobile})
    assert page.status_code == 200
    message = Message.objects.get(member=member)
    assert message.is_test and message.state == "queued"
    assert f"亲爱的{member.name}会员，本月是您的生日月，20.00元生日券" in page.content.decode()
    unknown = admin_client.post(url, {"mobile": "13999999999"})
    assert unknown.status_code == 200 and Message.objects.count() == 1


def test_a_template_with_an_unknown_variable_is_a_form_error(admin_client):
    page = admin_client.post(reverse("admin:campaigns_messagetemplate_add"), {
        "code": "x", "name": "x", "channel": "sms", "kind": "service",
        "body": "你好{nmae}"})
    assert page.status_code == 200
    assert "nmae" in page.content.decode()
