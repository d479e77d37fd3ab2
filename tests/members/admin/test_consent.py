"""Consent per channel, do-not-disturb and the whitelist on the admin's member page: saved
through the consent service (source `admin`), shown with its history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import ConsentChange, ContactChannel
from members.selectors.consent import member_consents
from tests.admin_forms import form_data

pytestmark = pytest.mark.django_db


def test_the_member_page_changes_consent_dnd_and_whitelist(admin_client, make_member):
    member = make_member(marketing_consent=True, consent_source="store")
    url = reverse("admin:members_member_change", args=[member.pk])
    page = admin_client.get(url).content.decode()
    data = form_data(page, "member_form", consent_channels=["sms", "in_app"],
                     do_not_disturb="on", contact_whitelist="on")
    answer = admin_client.post(url, data)
    assert answer.status_code == 302, answer.content.decode()[:3000]

    assert member_consents(member.pk) == {
        **dict.fromkeys(ContactChannel.values, False), "sms": True, "in_app": True}
    withdrawn = ConsentChange.objects.filter(member=member, granted=False)
    assert sorted(withdrawn.values_list("channel", flat=True)) == ["ai_call", "clerk_call",
                                                                  "wecom"]
    assert set(withdrawn.values_list("source", flat=True)) == {"admin"}
    member.refresh_from_db()
    assert member.do_not_disturb and member.contact_whitelist
    page = admin_client.get(url).content.decode()
    assert "store" in page and "admin" in page  # the history: first grant, then the change
