"""Behaviour events (members.services.activity), recorded through the intake."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from decimal import Decimal

import pytest

from loyalty.services.intake import record_activity
from members.errors import ActivityError, MemberError
from members.models import ActivityKind, Member, MemberActivity
from members.services.activity import ActivityInput
from members.services.members import member_set_status


@pytest.fixture
def checkin(member, store, now) -> ActivityInput:  # the payload names the store
    return ActivityInput(member_id=member.pk, kind=ActivityKind.CHECKIN,
                         source_key="mp:checkin:20260314:42", occurred_at=now,
                         payload={"streak": 3, "store": "SH001"})


def rows() -> list[dict]:
    return list(MemberActivity.objects.order_by("pk").values())


def test_an_event_is_stored_with_its_contents(checkin, member, now):
    recorded_at = now + timedelta(seconds=5)

    outcome = record_activity(data=checkin, now=recorded_at)

    row = MemberActivity.objects.get(source_key="mp:checkin:20260314:42")
    assert outcome.created is True
    assert outcome.activity.pk == row.pk
    assert (row.member_id, row.kind, row.name) == (member.pk, "checkin", "")
    assert row.payload == {"streak": 3, "store": "SH001"}
    assert (row.occurred_at, row.recorded_at) == (now, recorded_at)


def test_the_same_event_sent_twice_is_recorded_once(checkin, now):
    first = record_activity(data=checkin, now=now)
    second = record_activity(data=checkin, now=now + timedelta(minutes=1))

    assert (first.created, second.created) == (True, False)
    assert second.activity.pk == first.activity.pk
    assert MemberActivity.objects.filter(source_key=checkin.source_key).count() == 1


def test_a_replay_with_the_same_moment_in_another_time_zone_is_the_same_event(checkin, now):
    record_activity(data=checkin, now=now)

    again = record_activity(data=replace(checkin, occurred_at=now.astimezone(timezone.utc)))

    assert again.created is False


def test_a_payload_replays_as_stored_in_json(checkin, now):
    """Tuples and number keys come back from the database as lists and strings; the
    same event sent again must still be the same event."""
    event = replace(checkin, payload={"skus": ("SKU-A", "SKU-B"), 7: "seven"})

    first = record_activity(data=event, now=now)
    again = record_activity(data=event, now=now)

    assert (first.created, again.created) == (True, False)
    assert MemberActivity.objects.get().payload == {"skus": ["SKU-A", "SKU-B"], "7": "seven"}


@pytest.mark.parametrize("change", [
    pytest.param(lambda event, now, other: replace(event, payload={"streak": 4}), id="payload"),
    pytest.param(lambda event, now, other: replace(event, occurred_at=now + timedelta(seconds=1)),
                 id="occurred_at"),
    pytest.param(lambda event, now, other: replace(event, kind=ActivityKind.SHARE), id="kind"),
    pytest.param(lambda event, now, other: replace(event, member_id=other.pk), id="member"),
])
def test_the_same_event_id_with_other_contents_is_refused(checkin, make_member, now, change):
    record_activity(data=checkin, now=now)
    before = rows()

    with pytest.raises(ActivityError) as info:
        record_activity(data=change(checkin, now, make_member()), now=now)

    assert info.value.code.value == "event_id_conflict"
    assert rows() == before


def test_a_custom_event_needs_a_name(member, now):
    nameless = ActivityInput(member_id=member.pk, kind=ActivityKind.CUSTOM,
                             source_key="crm:1", occurred_at=now, name="   ")

    with pytest.raises(ActivityError) as info:
        record_activity(data=nameless, now=now)

    assert info.value.code.value == "invalid_activity"
    assert not MemberActivity.objects.filter(source_key="crm:1").exists()
    named = record_activity(data=replace(nameless, name=" 参加品鉴会 "), now=now)
    assert named.activity.name == "参加品鉴会"


@pytest.mark.parametrize("change", [
    pytest.param(lambda event, now: replace(event, kind="purchase"), id="unknown-kind"),
    pytest.param(lambda event, now: replace(event, source_key="  "), id="blank-event-id"),
    pytest.param(lambda event, now: replace(event, source_key="k" * 129), id="event-id-too-long"),
    pytest.param(lambda event, now: replace(event, payload=["a", "list"]), id="payload-not-a-dict"),
    pytest.param(lambda event, now: replace(event, payload={"amount": Decimal("1.50")}),
                 id="payload-not-json"),
    pytest.param(lambda event, now: replace(event, payload={"score": float("nan")}),
                 id="payload-nan"),
    pytest.param(lambda event, now: replace(event, occurred_at=now.replace(tzinfo=None)),
                 id="naive-datetime"),
])
def test_malformed_events_are_refused(checkin, now, change):
    before = rows()

    with pytest.raises(ActivityError) as info:
        record_activity(data=change(checkin, now), now=now)

    assert info.value.code.value == "invalid_activity"
    assert rows() == before


def test_an_event_for_an_unknown_member_is_refused(checkin, now):
    with pytest.raises(MemberError) as info:
        record_activity(data=replace(checkin, member_id=checkin.member_id + 10_000), now=now)

    assert info.value.code.value == "member_not_found"
    assert not MemberActivity.objects.filter(source_key=checkin.source_key).exists()


def test_an_event_for_a_closed_member_is_refused(checkin, now):
    member_set_status(member_id=checkin.member_id, status=Member.Status.CLOSED, now=now)

    with pytest.raises(MemberError) as info:
        record_activity(data=checkin, now=now)

    assert info.value.code.value == "member_closed"
    assert not MemberActivity.objects.filter(source_key=checkin.source_key).exists()


def test_a_frozen_members_event_is_recorded(checkin, now):
    member_set_status(member_id=checkin.member_id, status=Member.Status.FROZEN, now=now)

    assert record_activity(data=checkin, now=now).created is True
