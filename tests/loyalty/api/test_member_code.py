"""The dynamic member code: issued by the API (`members:read`), accepted once within 60 s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from loyalty.errors import MemberCodeErrorCode
from loyalty.models import MemberCodeUse
from loyalty.services.member_code import PREFIX, member_code_issue, member_code_use
from members.errors import MemberErrorCode
from members.models import Member

from .conftest import client_for, error_code

pytestmark = pytest.mark.django_db
API = "/api/v1"


def test_the_api_issues_a_fresh_code_each_time(api, member):
    first = api.get(f"{API}/members/{member.pk}/code")
    second = api.get(f"{API}/members/{member.pk}/code")
    assert first.status_code == second.status_code == 200
    assert first["Cache-Control"] == "no-store"
    body = first.json()
    assert body["valid_seconds"] == 60 and body["code"].startswith(PREFIX)
    assert body["code"] != second.json()["code"]
    assert not MemberCodeUse.objects.exists()  # issuing records nothing
    assert member_code_use(code=body["code"]) == member.pk


def test_the_code_needs_members_read(make_key, member):
    narrow = client_for(make_key(["orders:write"])[1])
    response = narrow.get(f"{API}/members/{member.pk}/code")
    assert response.status_code == 403 and error_code(response) == "permission_denied"
    assert client_for(make_key(["members:read"])[1]).get(
        f"{API}/members/{member.pk}/code").status_code == 200


def test_no_code_for_a_missing_or_closed_member(api, member):
    assert error_code(api.get(f"{API}/members/{member.pk + 999}/code")) == "not_found"
    Member.objects.filter(pk=member.pk).update(status=Member.Status.CLOSED)
    response = api.get(f"{API}/members/{member.pk}/code")
    assert response.status_code == 409 and error_code(response) == "member_closed"


def _refused(code: str, now) -> object:
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the code is checked below
        member_code_use(code=code, now=now)
    return refused.value.code


def test_a_code_works_once(member):
    now = timezone.now()
    code = member_code_issue(member_id=member.pk, now=now).code
    assert member_code_use(code=code, now=now + timedelta(seconds=5)) == member.pk
    assert _refused(code, now + timedelta(seconds=6)) == MemberCodeErrorCode.USED
    assert MemberCodeUse.objects.count() == 1


def test_a_code_expires_after_sixty_seconds(member):
    now = timezone.now()
    issued = member_code_issue(member_id=member.pk, now=now)
    assert issued.expires_at == now.replace(microsecond=0) + timedelta(seconds=60)
    assert _refused(issued.code, now + timedelta(seconds=61)) == MemberCodeErrorCode.EXPIRED
    assert _refused(issued.code, now - timedelta(seconds=30)) == MemberCodeErrorCode.EXPIRED
    assert member_code_use(code=issued.code, now=now + timedelta(seconds=59)) == member.pk
    assert MemberCodeUse.objects.count() == 1


def test_forged_or_foreign_codes_are_invalid(member):
    now = timezone.now()
    code = member_code_issue(member_id=member.pk, now=now).code
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    other_salt = PREFIX + signing.dumps([member.pk, "n" * 24, int(now.timestamp())],
                                        salt="counter")
    for bad in (forged, other_salt, "MC1:", "MC1:garbage", PREFIX + "x" * 300):
        assert _refused(bad, now) == MemberCodeErrorCode.INVALID, bad
    assert not MemberCodeUse.objects.exists()
    Member.objects.filter(pk=member.pk).update(status=Member.Status.CLOSED)
    assert _refused(code, now) == MemberErrorCode.MEMBER_CLOSED
