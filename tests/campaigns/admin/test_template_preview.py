"""A template previewed in the admin for a real member (exact member number or mobile)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.campaigns.helpers import members, message_template

pytestmark = pytest.mark.django_db


def test_the_preview_renders_for_a_real_member_with_sms_rules(admin_client, now, settings):
    settings.SMS_SIGNATURE = "茶语"
    (m,) = members(1, now)
    template = message_template(now, body="{name}（{member_no}），会员日送您{points}积分")
    url = reverse("admin:campaigns_messagetemplate_preview", args=[template.pk])
    page = admin_client.get(url, {"member": m.member_no})
    assert page.status_code == 200
    text = page.context["preview"].text
    assert text == f"【茶语】{m.name}（{m.member_no}），会员日送您100积分 拒收请回复TD"
    assert page.context["preview"].parts == (1 if len(text) <= 70 else 2)
    assert text in page.content.decode()
    by_mobile = admin_client.get(url, {"member": m.mobile})
    assert by_mobile.context["preview"].member.pk == m.pk


@pytest.mark.parametrize("term", ["0000", "王", "99999999999", ""])
def test_no_member_is_a_form_error_not_a_guess(admin_client, now, term):
    members(1, now)
    template = message_template(now)
    url = reverse("admin:campaigns_messagetemplate_preview", args=[template.pk])
    page = admin_client.get(url, {"member": term})
    assert page.status_code == 200 and page.context["preview"] is None
