"""Putting manual tags on members and taking them off (members.services.tags)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from members.errors import MemberError
from members.models import Member, MemberTag, SegmentFacts, Tag, TagChange
from members.services.tags import member_tags_add, member_tags_remove


@pytest.fixture
def vip(db) -> Tag:
    return Tag.objects.create(code="vip-event", name="VIP 活动")


def tagged(tag: Tag) -> set[int]:
    return set(MemberTag.objects.filter(tag=tag).values_list("member_id", flat=True))


def test_adding_a_tag_is_idempotent(vip, make_member, now):
    a, b, c = make_member(), make_member(), make_member()

    assert member_tags_add(tag_id=vip.pk, member_ids=[a.pk, b.pk], now=now) == 2
    assert member_tags_add(tag_id=vip.pk, member_ids=[a.pk, b.pk], now=now) == 0
    assert member_tags_add(tag_id=vip.pk, member_ids=[b.pk, c.pk, c.pk], now=now) == 1

    assert tagged(vip) == {a.pk, b.pk, c.pk}
    assert MemberTag.objects.count() == 3


def test_adding_again_keeps_the_first_time(vip, member, now):
    member_tags_add(tag_id=vip.pk, member_ids=[member.pk], now=now)
    member_tags_add(tag_id=vip.pk, member_ids=[member.pk], now=now + timedelta(days=1))

    assert MemberTag.objects.get(member=member, tag=vip).added_at == now


def test_unknown_members_are_skipped(vip, member, now):
    assert member_tags_add(tag_id=vip.pk, member_ids=[member.pk, member.pk + 10_000], now=now) == 1
    assert tagged(vip) == {member.pk}


def test_removing_a_tag(vip, make_member, now):
    a, b = make_member(), make_member()
    other = Tag.objects.create(code="newcomer", name="新客")
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk, b.pk], now=now)
    member_tags_add(tag_id=other.pk, member_ids=[a.pk], now=now)

    assert member_tags_remove(tag_id=vip.pk, member_ids=[a.pk]) == 1
    assert member_tags_remove(tag_id=vip.pk, member_ids=[a.pk]) == 0

    assert tagged(vip) == {b.pk}
    assert tagged(other) == {a.pk}  # only the named tag comes off


def test_an_unknown_tag_is_refused(member, now):
    for call in (lambda: member_tags_add(tag_id=999_999, member_ids=[member.pk], now=now),
                 lambda: member_tags_remove(tag_id=999_999, member_ids=[member.pk])):
        with pytest.raises(MemberError) as info:
            call()
        assert info.value.code.value == "tag_not_found"
    assert not MemberTag.objects.exists()


# --- one path for every change: the array, the history and the cause ---------------------

def history(tag: Tag) -> list[tuple]:
    return list(TagChange.objects.filter(tag_id=tag.pk).order_by("id")
                .values_list("member_id", "action", "cause", "changed_at"))


def test_every_add_and_remove_is_in_the_history_with_its_cause_and_time(vip, make_member, now):
    a, b = make_member(), make_member()
    later = now + timedelta(hours=3)
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk, b.pk], cause="manual", now=now)
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk], cause="manual", now=later)  # no change
    member_tags_remove(tag_id=vip.pk, member_ids=[b.pk], cause="api", now=later)

    assert history(vip) == [(a.pk, "added", "manual", now), (b.pk, "added", "manual", now),
                            (b.pk, "removed", "api", later)]


def test_the_members_tag_array_follows_every_write(vip, make_member, now):
    other = Tag.objects.create(code="newcomer", name="新客")
    a, b = make_member(), make_member()
    member_tags_add(tag_id=vip.pk, members=Member.objects.filter(pk__in=[a.pk, b.pk]), now=now)
    member_tags_add(tag_id=other.pk, member_ids=[a.pk], now=now)
    member_tags_remove(tag_id=vip.pk, members=Member.objects.filter(pk=a.pk), now=now)
    MemberTag.objects.filter(member=b).delete()  # a writer that bypasses the service

    arrays = dict(SegmentFacts.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", "tag_ids"))
    assert arrays == {a.pk: [other.pk], b.pk: []}
    # the bypassing writer is recorded as well, as a system change
    assert TagChange.objects.filter(member_id=b.pk, action="removed", cause="system").count() == 1


def test_hand_changes_are_refused_on_rule_and_system_tags(member, now):
    rule_tag = Tag.objects.create(code="big-spender", name="高消费", kind=Tag.Kind.RULE)
    for cause in ("manual", "import", "api"):
        with pytest.raises(MemberError) as info:
            member_tags_add(tag_id=rule_tag.pk, member_ids=[member.pk], cause=cause, now=now)
        assert info.value.code.value == "tag_not_manual"
    assert member_tags_add(tag_id=rule_tag.pk, member_ids=[member.pk], cause="rule", now=now) == 1


def test_the_cause_does_not_leak_to_later_writes_in_the_transaction(vip, make_member, now):
    a, b = make_member(), make_member()
    with transaction.atomic():
        member_tags_add(tag_id=vip.pk, member_ids=[a.pk], cause="manual", now=now)
        MemberTag.objects.create(member=b, tag=vip, added_at=now)
    assert dict(TagChange.objects.values_list("member_id", "cause")) == {a.pk: "manual",
                                                                         b.pk: "system"}


def test_deleting_a_tag_takes_it_off_every_member(vip, make_member, now):
    a = make_member()
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk], now=now)
    vip.delete()
    assert SegmentFacts.objects.get(pk=a.pk).tag_ids == []
