"""Registration and member status (members.services.members). Members enrol through the
intake; what the intake adds (the registration event) is in tests/loyalty/test_intake.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty.services.intake import register_member
from members.errors import MemberError
from members.models import Member
from members.services.members import MemberInput, member_set_status, member_update, referrer_check

pytestmark = pytest.mark.django_db


def register(now, **fields) -> Member:
    return register_member(data=MemberInput(**fields), now=now).member


def refused(code: str, call) -> MemberError:
    before = list(Member.objects.order_by("pk").values())
    with pytest.raises(MemberError) as info:
        call()
    assert info.value.code.value == code
    assert list(Member.objects.order_by("pk").values()) == before
    return info.value


@pytest.mark.parametrize("raw", ["13800138000", " 138 0013 8000 ", "+86 138-0013-8000",
                                 "8613800138000"])
def test_the_mobile_is_stored_in_e164(now, raw):
    member = register(now, mobile=raw, name="王芳")

    member.refresh_from_db()
    assert member.mobile == "+8613800138000"
    assert member.mobile_last4 == "8000"
    assert len(member.member_no) == 10 and member.member_no.isdigit()
    assert (member.status, member.created_at) == (Member.Status.ACTIVE, now)


@pytest.mark.parametrize("raw", ["12345", "02112345678", "10000000000", "abc"])
def test_an_invalid_mobile_is_refused(now, raw):
    error = refused("invalid_mobile", lambda: register(now, mobile=raw))

    assert error.params["mobile"] == raw


def test_a_second_member_with_the_same_mobile_is_refused(member, now):
    assert member.mobile == "+8613800130000"

    refused("mobile_taken", lambda: register(now, mobile="138 0013 0000"))


def test_a_frozen_member_keeps_their_mobile(member, now):
    member_set_status(member_id=member.pk, status=Member.Status.FROZEN, now=now)

    refused("mobile_taken", lambda: register(now, mobile=member.mobile))


def test_a_closed_members_mobile_can_be_used_again(member, now):
    member_set_status(member_id=member.pk, status=Member.Status.CLOSED, now=now)

    again = register(now + timedelta(days=1), mobile="13800130000")

    assert again.pk != member.pk
    assert again.mobile == member.mobile
    member.refresh_from_db()
    assert (member.status, member.mobile) == (Member.Status.CLOSED, "+8613800130000")
    # …but only one of them may be open: the new member now holds the number.
    refused("mobile_taken", lambda: register(now, mobile="13800130000"))


def test_another_member_cannot_take_a_mobile_by_update(make_member, now):
    first, second = make_member(), make_member()

    with pytest.raises(MemberError) as info:
        member_update(member_id=second.pk, data=MemberInput(mobile=first.mobile), now=now)

    assert info.value.code.value == "mobile_taken"
    second.refresh_from_db()
    assert second.mobile != first.mobile


def test_the_storefront_external_id_is_unique(now):
    register(now, mobile="13800138001", external_id="wx-openid-1")

    refused("external_id_taken",
            lambda: register(now, mobile="13800138002", external_id="wx-openid-1"))


def test_members_without_external_id_do_not_collide(now):
    register(now, mobile="13800138001")
    register(now, mobile="13800138002", external_id="")

    assert Member.objects.filter(external_id__isnull=True).count() == 2


def test_consent_records_its_time_and_source(now):
    member = register(now, mobile="13800138001", marketing_consent=True,
                      consent_source="mini_program")

    member.refresh_from_db()
    assert member.marketing_consent is True
    assert member.marketing_consent_at == now
    assert member.marketing_consent_source == "mini_program"


def test_withdrawing_consent_records_when_and_how(now):
    member = register(now, mobile="13800138001", marketing_consent=True, consent_source="web")
    later = now + timedelta(days=30)

    member_update(member_id=member.pk, now=later,
                  data=MemberInput(marketing_consent=False, consent_source="counter"))

    member.refresh_from_db()
    assert (member.marketing_consent, member.marketing_consent_at,
            member.marketing_consent_source) == (False, later, "counter")


def test_no_consent_means_no_consent_time(now):
    member = register(now, mobile="13800138001")

    member.refresh_from_db()
    assert (member.marketing_consent, member.marketing_consent_at,
            member.marketing_consent_source) == (False, None, "")


def test_a_home_store_that_does_not_exist_is_refused(now):
    refused("store_not_found", lambda: register(now, mobile="13800138001", home_store_code="NOPE"))


def test_a_closed_member_cannot_be_reopened_or_updated(member, now):
    member_set_status(member_id=member.pk, status=Member.Status.CLOSED, now=now)

    refused("member_closed", lambda: member_set_status(member_id=member.pk,
                                                       status=Member.Status.ACTIVE, now=now))
    refused("member_closed", lambda: member_update(member_id=member.pk,
                                                   data=MemberInput(name="x"), now=now))


def test_an_unknown_status_is_refused(member, now):
    refused("invalid_input", lambda: member_set_status(member_id=member.pk, status="deleted",
                                                       now=now))


def test_the_referrer_rule_is_one_rule(make_member, now):
    """A referrer is another member who exists, whoever asks (registration, update, a
    referral event): oneself is self_referral, anyone else not a member referrer_not_found."""
    member, other = make_member(), make_member()
    refused("self_referral", lambda: member_update(
        member_id=member.pk, data=MemberInput(referrer_id=member.pk), now=now))
    refused("referrer_not_found", lambda: member_update(
        member_id=member.pk, data=MemberInput(referrer_id=other.pk + 1000), now=now))
    refused("referrer_not_found", lambda: register(now, mobile="13800138777",
                                                   referrer_id=other.pk + 1000))
    for bad in (True, "7", 0, 2**63):
        with pytest.raises(MemberError) as info:
            referrer_check(member_id=member.pk, referrer_id=bad)
        assert info.value.code.value == "referrer_not_found"
    assert referrer_check(member_id=member.pk, referrer_id=other.pk) == other.pk
    assert member_update(member_id=member.pk, data=MemberInput(referrer_id=other.pk),
                         now=now).referrer_id == other.pk
