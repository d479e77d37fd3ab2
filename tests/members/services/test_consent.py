"""Marketing consent per channel (members.services.consent): time, source, history; the old
single flag migrated (members 0017); the member API, the counter and the admin change it."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from members.errors import MemberError
from members.models import ConsentChange, ContactChannel, Member, MemberConsent
from members.selectors.consent import member_consents
from members.services.consent import member_consents_set
from members.services.members import MemberInput, member_update

pytestmark = pytest.mark.django_db
CHANNELS = ContactChannel.values


def history(member):
    return list(ConsentChange.objects.filter(member=member).order_by("id")
                .values_list("channel", "granted", "at", "source"))


def test_a_change_is_recorded_with_time_source_and_history(member, now):
    later = now + timedelta(hours=2)
    assert member_consents(member.pk) == dict.fromkeys(CHANNELS, False)

    assert member_consents_set(member_id=member.pk, changes={"sms": True, "wecom": True},
                               source="api", now=now) == ["sms", "wecom"]
    assert member_consents_set(member_id=member.pk, changes={"sms": True}, source="api",
                               now=later) == []  # unchanged: nothing written
    assert member_consents_set(member_id=member.pk, changes={"sms": False},
                               source="sms_reply", now=later) == ["sms"]

    assert member_consents(member.pk) == {**dict.fromkeys(CHANNELS, False), "wecom": True}
    assert history(member) == [("sms", True, now, "api"), ("wecom", True, now, "api"),
                               ("sms", False, later, "sms_reply")]
    sms = MemberConsent.objects.get(member=member, channel="sms")
    assert (sms.granted, sms.changed_at, sms.source) == (False, later, "sms_reply")
    member.refresh_from_db()  # the summary: agrees on at least one channel
    assert (member.marketing_consent, member.marketing_consent_at) == (True, now)


def test_the_summary_follows_the_last_channel(member, now):
    member_consents_set(member_id=member.pk, changes={"sms": True}, source="admin", now=now)
    member_consents_set(member_id=member.pk, changes={"sms": False}, source="admin",
                        now=now + timedelta(days=1))
    member.refresh_from_db()
    assert (member.marketing_consent, member.marketing_consent_at,
            member.marketing_consent_source) == (False, now + timedelta(days=1), "admin")


@pytest.mark.parametrize("changes", [{"fax": True}, {"sms": "yes"}, {"sms": 1}])
def test_unknown_channels_and_non_booleans_are_refused(member, now, changes):
    with pytest.raises(MemberError) as info:
        member_consents_set(member_id=member.pk, changes=changes, source="api", now=now)
    assert info.value.code.value == "invalid_input"
    assert not MemberConsent.objects.exists() and not ConsentChange.objects.exists()


def test_the_single_flag_of_registration_grants_every_channel(make_member, now):
    member = make_member(marketing_consent=True, consent_source="store")
    assert member_consents(member.pk) == dict.fromkeys(CHANNELS, True)
    assert {(c, g, a, s) for c, g, a, s in history(member)} == {
        (c, True, now, "store") for c in CHANNELS}


def test_per_channel_answers_win_over_the_single_flag(member, now):
    member_update(member_id=member.pk, now=now, data=MemberInput(
        marketing_consent=True, consents={"ai_call": False}, consent_source="api",
        do_not_disturb=True, contact_whitelist=True))
    assert member_consents(member.pk) == {**dict.fromkeys(CHANNELS, True), "ai_call": False}
    member.refresh_from_db()
    assert (member.do_not_disturb, member.contact_whitelist) == (True, True)


def test_history_is_append_only(member, now):
    member_consents_set(member_id=member.pk, changes={"sms": True}, source="api", now=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentChange.objects.update(granted=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentChange.objects.all().delete()


def test_the_migration_turns_each_grant_into_a_grant_per_channel(make_member, now):
    """The SQL of members 0017 run again over members with the old flag: a grant per
    marketing channel with the flag's own time and source, as the first history row."""
    migration = importlib.import_module("members.migrations.0018_consent_per_channel")
    assert set(migration.CHANNELS) == set(CHANNELS)
    earlier = now - timedelta(days=400)
    agreed = make_member()
    refused_ = make_member()
    Member.objects.filter(pk=agreed.pk).update(marketing_consent=True, marketing_consent_at=earlier,
                                               marketing_consent_source="门店登记")
    with connection.cursor() as cursor:
        cursor.execute(migration.GRANTS_SQL, [list(migration.CHANNELS)])
        cursor.execute(migration.HISTORY_SQL)
    assert member_consents(agreed.pk) == dict.fromkeys(CHANNELS, True)
    assert member_consents(refused_.pk) == dict.fromkeys(CHANNELS, False)
    assert sorted(history(agreed)) == sorted((c, True, earlier, "门店登记") for c in CHANNELS)
    assert history(refused_) == []
