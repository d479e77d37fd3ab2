"""Scanning a dynamic member code into the counter's find box: once, within its minute."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django.utils.translation import override

from loyalty.errors import MemberCodeError, MemberCodeErrorCode
from loyalty.services.member_code import member_code_issue

from .world import build_counter_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_counter_world()


def test_a_scanned_code_opens_the_member_once(client, world):
    code = member_code_issue(member_id=world.member_b.pk).code
    client.force_login(world.clerk_a)  # member B is of another store: the code opens them
    first = client.get("/counter/find/", {"q": code})
    assert first.status_code == 302 and first["Location"] == f"/counter/m/{world.member_b.pk}/"
    assert client.get(first["Location"]).status_code == 200
    again = client.get("/counter/find/", {"q": code}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = again.content.decode()
    assert again.status_code == 200 and 'role="alert"' in html
    with override("zh-hans"):
        assert str(MemberCodeError(MemberCodeErrorCode.USED).message) in html
    assert "会员码已使用" in html  # the message is in the clerk's language


def test_an_expired_code_is_refused_with_a_translated_message(client, world):
    now = timezone.now()
    code = member_code_issue(member_id=world.member_a.pk, now=now).code
    client.force_login(world.clerk_a)
    later = now + timedelta(seconds=61)
    with mock.patch("loyalty.services.member_code.resolve_now", return_value=later):
        answer = client.get("/counter/find/", {"q": code}, HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200 and 'role="alert"' in html and "HX-Redirect" not in answer
    with override("zh-hans"):
        assert str(MemberCodeError(MemberCodeErrorCode.EXPIRED).message) in html
    assert "会员码已过期" in html
    fresh = member_code_issue(member_id=world.member_a.pk).code
    assert client.get("/counter/find/", {"q": fresh})["Location"] == \
        f"/counter/m/{world.member_a.pk}/"
