"""Segments (members.segment_expr, members.segments, members.services.segments): the
language, counts that agree with a plain-Python evaluation on random data, snapshots."""

from __future__ import annotations

import random
from datetime import date

import pytest

from core.clock import local_date
from members.errors import MemberError
from members.models import Member, MemberTag, Segment, SnapshotMember, Tag
from members.segment_expr import Op, Term, matches, parse
from members.segments import (
    segment_contains,
    segment_count,
    segment_export_rows,
    segment_preview,
)
from members.services import member_tags_add, member_tags_remove
from members.services.segments import segment_snapshot_take

REGIONS = ["上海", "北京", "广州", ""]
TAGS = ["vip", "coffee", "tea", "lapsed", "student"]


@pytest.fixture
def population(make_member, store, other_store, now):
    rng = random.Random(7)
    tags = {code: Tag.objects.create(code=code, name=code) for code in TAGS}
    members = []
    for _ in range(60):
        members.append(make_member(
            gender=rng.choice(Member.Gender.values), region=rng.choice(REGIONS),
            home_store_code=rng.choice(["SH001", "BJ001", None]),
            source_channel=rng.choice(["store", "web", "app"]),
            birthday=rng.choice([None, date(rng.randint(1960, 2010), rng.randint(1, 12), 15)])))
    for tag in tags.values():
        member_tags_add(tag_id=tag.pk, member_ids=[m.pk for m in members if rng.random() < 0.4],
                        now=now)
    closed = rng.sample(members, 5)
    Member.objects.filter(pk__in=[m.pk for m in closed]).update(status="closed")
    return rng


def random_expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.35:
        kind = rng.choice(["tag", "tag", "gender", "region", "store", "channel", "age", "status"])
        if kind == "tag":
            return "tag:" + ",".join(rng.sample(TAGS, rng.randint(1, 2)))
        if kind == "gender":
            return "gender:" + rng.choice(Member.Gender.values)
        if kind == "region":
            return "region:" + rng.choice(REGIONS[:3])
        if kind == "store":
            return "store:" + rng.choice(["SH001", "BJ001"])
        if kind == "channel":
            return "channel:" + rng.choice(["store", "web", "app"])
        if kind == "status":
            return "status:" + rng.choice(["active", "frozen"])
        low = rng.randint(10, 50)
        return rng.choice([f"age:{low}-{low + rng.randint(0, 30)}", f"age:{low}-", f"age:-{low}"])
    op = rng.choice(["and", "or", "not"])
    if op == "not":
        return "not " + random_expression(rng, depth + 1)
    items = [random_expression(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    return "(" + f" {op} ".join(items) + ")"


def test_and_or_not_agree_with_python_on_random_data(population, now):
    rng = population
    today = local_date(now)
    members = list(Member.objects.all())
    held: dict[int, set[int]] = {}  # from the join table, the truth the copy must follow
    for member_id, tag_id in MemberTag.objects.values_list("member_id", "tag_id"):
        held.setdefault(member_id, set()).add(tag_id)
    for _ in range(60):
        expression = random_expression(rng)
        tree = parse(expression)
        expected = {m.pk for m in members
                    if m.status != "closed" and matches(tree, m, held.get(m.pk, ()), today)}
        assert segment_count(expression, now=now) == len(expected), expression
        assert {m.pk for m in segment_preview(expression, limit=1000, now=now)} == expected
        assert {row[0] for row in segment_export_rows(expression, now=now, batch=7)} == expected
        probe = rng.choice(members)
        assert segment_contains(expression, probe.pk, now=now) == (probe.pk in expected)


def test_precedence_not_then_and_then_or(db):
    Tag.objects.create(code="a", name="a")
    Tag.objects.create(code="b", name="b")
    tree = parse("not tag:a and gender:female or region:上海")
    assert isinstance(tree, Op) and tree.op == "or"
    assert tree.items[0].op == "and" and tree.items[0].items[0].op == "not"
    assert tree.items[1] == Term("region", ("上海",))
    assert parse("tag:a 且 (tag:b 或 非 tag:a)").op == "and"


@pytest.mark.parametrize("text,reason", [
    ("", "empty"), ("tag:nope", "no such tag"), ("gender:robot", "not one of"),
    ("(gender:female", "not closed"), ("gender:female)", "unexpected"),
    ("gender:female and", "too early"), ("colour:red", "not a term"), ("age:40-20", "reversed"),
    ("age:old", "age range"), ("store:XX9", "no such store"), ("and", "unexpected"),
    ("(" * 60 + "gender:male" + ")" * 60, "deeply"),
])
def test_invalid_definitions_say_why(db, text, reason):
    with pytest.raises(MemberError) as info:
        parse(text)
    assert info.value.code.value == "invalid_segment"
    assert reason in info.value.message


def test_a_snapshot_does_not_change_when_members_change(make_member, now):
    vip = Tag.objects.create(code="vip", name="VIP")
    a, b, c = make_member(), make_member(), make_member()
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk, b.pk], now=now)
    segment = Segment.objects.create(code="vips", name="VIP", expression="tag:vip")

    snapshot = segment_snapshot_take(segment_id=segment.pk, now=now)
    frozen = set(SnapshotMember.objects.filter(snapshot=snapshot).values_list("member_id", flat=True))
    assert frozen == {a.pk, b.pk} and snapshot.member_count == 2

    member_tags_remove(tag_id=vip.pk, member_ids=[a.pk], now=now)
    member_tags_add(tag_id=vip.pk, member_ids=[c.pk], now=now)
    Member.objects.filter(pk=b.pk).update(status="closed")
    segment.expression = "tag:vip or gender:female"
    segment.save()

    assert set(SnapshotMember.objects.filter(snapshot=snapshot)
               .values_list("member_id", flat=True)) == {a.pk, b.pk}
    snapshot.refresh_from_db()
    assert (snapshot.member_count, snapshot.expression) == (2, "tag:vip")
    assert segment_count("tag:vip", now=now) == 1  # the live segment moved on
    later = segment_snapshot_take(segment_id=segment.pk, now=now)
    assert set(SnapshotMember.objects.filter(snapshot=later)
               .values_list("member_id", flat=True)) == {c.pk}


def test_store_terms_use_the_home_store(make_member, store, now):
    here, nowhere = make_member(home_store_code="SH001"), make_member()
    assert segment_contains("store:SH001", here.pk, now=now)
    assert not segment_contains("store:SH001", nowhere.pk, now=now)
    assert segment_contains("not store:SH001", nowhere.pk, now=now)
