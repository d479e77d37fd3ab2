"""The narrow copy segments read (members.SegmentFacts, migration 0005): the triggers on
members_member and members_membertag keep it equal to the member rows and the join table,
whoever writes them."""

from __future__ import annotations

import random
import time
from datetime import date

import pytest
from django.db import connection, transaction

from members.models import Member, MemberTag, SegmentFacts, Tag
from members.selectors.segments import segment_count
from members.services.members import MemberInput, member_set_status, member_update
from members.services.tags import member_tags_add, member_tags_remove
from tests.races import run_at_once

COPIED = ("status", "gender", "region", "source_channel", "birthday", "home_store_id")


def assert_facts_follow_the_source() -> None:
    """Every member has exactly one row, with its columns and the tags of the join table."""
    held: dict[int, list[int]] = {}
    for member_id, tag_id in MemberTag.objects.order_by("tag_id").values_list("member_id",
                                                                              "tag_id"):
        held.setdefault(member_id, []).append(tag_id)
    expected = {row[0]: (*row[1:], held.get(row[0], []))
                for row in Member.objects.values_list("pk", *COPIED)}
    actual = {row[0]: (*row[1:-1], sorted(row[-1]))
              for row in SegmentFacts.objects.values_list("pk", *COPIED, "tag_ids")}
    assert actual == expected


def ctid(member_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM members_segmentfacts WHERE member_id = %s",
                       [member_id])
        return cursor.fetchone()[0]


def test_a_new_member_gets_a_row_with_no_tags(make_member, store):
    member = make_member(gender="female", region="上海", home_store_code=store.code,
                         source_channel="web", birthday=date(1990, 5, 1))
    facts = SegmentFacts.objects.get(pk=member.pk)
    assert (facts.status, facts.gender, facts.region, facts.source_channel, facts.birthday,
            facts.home_store_id, facts.tag_ids) == (
        "active", "female", "上海", "web", date(1990, 5, 1), store.pk, [])


def test_members_inserted_in_one_statement_each_get_a_row(make_member, now):
    Member.objects.bulk_create([
        Member(member_no=f"BULK{i}", gender="male", region="北京", created_at=now,
               updated_at=now) for i in range(3)])
    assert SegmentFacts.objects.filter(member__member_no__startswith="BULK",
                                       region="北京", gender="male").count() == 3
    assert_facts_follow_the_source()


def test_profile_and_status_changes_are_copied(make_member, store, other_store, now):
    member = make_member(gender="male", region="北京", home_store_code=store.code)
    assert segment_count("gender:female and region:上海", now=now) == 0
    member_update(member_id=member.pk, data=MemberInput(
        gender="female", region="上海", home_store_code=other_store.code,
        birthday=date(2000, 1, 2)), now=now)
    assert segment_count("gender:female and region:上海", now=now) == 1
    assert SegmentFacts.objects.get(pk=member.pk).home_store_id == other_store.pk
    member_set_status(member_id=member.pk, status="closed", now=now)
    assert segment_count("gender:female and region:上海", now=now) == 0
    assert_facts_follow_the_source()


def test_a_set_based_update_of_many_members_is_copied(make_member):
    members = [make_member(region="北京") for _ in range(4)]
    Member.objects.filter(pk__in=[m.pk for m in members[:3]]).update(region="广州")
    assert set(SegmentFacts.objects.filter(region="广州").values_list("pk", flat=True)) == {
        m.pk for m in members[:3]}
    assert_facts_follow_the_source()


def test_an_update_of_other_columns_leaves_the_row_alone(make_member, now):
    member = make_member(gender="female")
    before = ctid(member.pk)
    member_update(member_id=member.pk, data=MemberInput(name="新名字"), now=now)
    assert ctid(member.pk) == before  # the trigger's WHEN skipped it: no new row version
    member_update(member_id=member.pk, data=MemberInput(gender="male"), now=now)
    assert ctid(member.pk) != before


def test_random_tag_and_profile_writes_keep_the_copy_equal(make_member, now):
    rng = random.Random(11)
    tags = [Tag.objects.create(code=f"t{i}", name=f"t{i}") for i in range(4)]
    members = [make_member() for _ in range(12)]
    for _ in range(40):
        step = rng.choice(["add", "add", "remove", "bypass", "profile"])
        chosen = [m.pk for m in rng.sample(members, rng.randint(1, 6))]
        tag = rng.choice(tags)
        if step == "add":
            member_tags_add(tag_id=tag.pk, member_ids=chosen, now=now)
        elif step == "remove":
            member_tags_remove(tag_id=tag.pk, member_ids=chosen, now=now)
        elif step == "bypass":  # set-based SQL of another layer, straight into the table
            MemberTag.objects.filter(member_id__in=chosen, tag=tag).delete()
        else:
            Member.objects.filter(pk__in=chosen).update(
                gender=rng.choice(Member.Gender.values), region=rng.choice(["上海", ""]))
    tags[0].delete()  # cascades through the join table, so through the triggers
    assert_facts_follow_the_source()


def test_deleting_a_member_deletes_its_row(make_member, now):
    vip = Tag.objects.create(code="vip", name="VIP")
    member = make_member()
    member_tags_add(tag_id=vip.pk, member_ids=[member.pk], now=now)
    Member.objects.filter(pk=member.pk).delete()
    assert not SegmentFacts.objects.filter(pk=member.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_tag_added_while_the_profile_changes_keeps_both(make_member, now):
    vip = Tag.objects.create(code="vip", name="VIP")
    member = make_member(gender="male")

    def work(i: int) -> None:
        if i == 0:
            with transaction.atomic():
                member_update(member_id=member.pk, data=MemberInput(gender="female"), now=now)
                time.sleep(0.3)  # hold the copied row while the tag is added
        else:
            time.sleep(0.1)
            member_tags_add(tag_id=vip.pk, member_ids=[member.pk], now=now)

    assert [r[0] for r in run_at_once(work, 2)] == ["ok", "ok"]
    facts = SegmentFacts.objects.get(pk=member.pk)
    assert (facts.gender, facts.tag_ids) == ("female", [vip.pk])
    assert segment_count("tag:vip and gender:female", now=now) == 1
