"""Putting manual tags on members and taking them off (members.services.tags)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from members.errors import MemberError
from members.models import MemberTag, Tag
from members.services import member_tags_add, member_tags_remove


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
