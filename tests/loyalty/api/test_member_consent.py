"""Consent per channel, do-not-disturb and the whitelist through the member API."""

from __future__ import annotations

import pytest

from members.models import ConsentChange, ContactChannel

from .conftest import API

pytestmark = pytest.mark.django_db


def test_patch_changes_consent_per_channel(api, member):
    answer = api.patch(f"{API}/members/{member.pk}", {
        "consents": {"sms": True, "wecom": True}, "consent_source": "mini_program",
        "do_not_disturb": True}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["consents"] == {**dict.fromkeys(ContactChannel.values, False),
                                "sms": True, "wecom": True}
    assert body["do_not_disturb"] is True and body["contact_whitelist"] is False
    assert body["marketing_consent"] is True

    answer = api.patch(f"{API}/members/{member.pk}", {"consents": {"sms": False}},
                       format="json")
    assert answer.json()["consents"]["sms"] is False
    assert list(ConsentChange.objects.filter(member=member).order_by("id")
                .values_list("channel", "granted", "source")) == [
        ("sms", True, "mini_program"), ("wecom", True, "mini_program"), ("sms", False, "api")]


@pytest.mark.parametrize("consents", [{"fax": True}, {"sms": "maybe"}, ["sms"]])
def test_unknown_channels_are_refused_in_the_error_shape(api, member, consents):
    answer = api.patch(f"{API}/members/{member.pk}", {"consents": consents}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_input"
    assert not ConsentChange.objects.exists()
