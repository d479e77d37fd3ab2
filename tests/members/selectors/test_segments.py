"""Segments (members.segment_expr, members.selectors.segments, members.services.segments): the
language, counts that agree with a plain-Python evaluation on random data, snapshots."""

from __future__ import annotations

import random
from datetime import date

import pytest
from django.utils import translation

from core.clock import local_date
from members.errors import MemberError
from members.models import Member, MemberTag, Segment, SnapshotMember, Store, Tag, TagGroup
from members.segment_expr import Op, Term, display_form, matches, parse, stored_form
from members.selectors.segments import (
    segment_contains,
    segment_count,
    segment_display,
    segment_export_rows,
    segment_hints,
    segment_preview,
)
from members.services.segments import segment_definition_store, segment_snapshot_take
from members.services.tags import member_tags_add, member_tags_remove

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
    with translation.override("en"):
        assert reason in info.value.message


@pytest.mark.parametrize("text,reason", [
    ("", "定义为空"), ("tag:nope", "标签不存在：nope"), ("gender:robot", "“robot”不是以下之一"),
    ("(gender:female", "括号未闭合"), ("gender:female and", "不完整"),
    ("colour:red", "“colour:red”不是有效的条件"), ("age:40-20", "起点大于终点"),
    ("store:XX9", "门店不存在：XX9"),
])
def test_errors_are_in_chinese_by_default(db, text, reason):
    with pytest.raises(MemberError) as info:
        parse(text)
    with translation.override("zh-hans"):
        message = info.value.message
        assert message.startswith("人群包条件无效：") and reason in message, message
        assert reason in str(info.value.as_dict()["error"]["message"])


# names: an operator writes tags as they read them, and renaming one changes no segment


@pytest.fixture
def big_spenders(make_member, now):
    group = TagGroup.objects.create(name="消费层级")
    tag = Tag.objects.create(code="high-spend", name="高消费", group=group)
    member, other = make_member(), make_member()
    member_tags_add(tag_id=tag.pk, member_ids=[member.pk], now=now)
    return tag, member, other


def test_a_tag_by_its_name_or_its_code(big_spenders, now):
    tag, member, other = big_spenders
    for text in ("tag:高消费", "tag:high-spend", f"tag:#{tag.pk}", "tag:高消费，high-spend"):
        assert parse(text) == Term("tag", (tag.pk,)), text
        assert segment_contains(text, member.pk, now=now)
        assert not segment_contains(text, other.pk, now=now)


def test_a_code_wins_over_another_tags_name(db):
    named = Tag.objects.create(code="a-tag", name="vip")
    coded = Tag.objects.create(code="vip", name="贵宾")
    assert parse("tag:vip") == Term("tag", (coded.pk,))
    assert parse("tag:a-tag") == Term("tag", (named.pk,))
    # shown back, the first is written by its code: its name would read as the other tag
    assert display_form(stored_form("tag:a-tag or tag:vip")) == "tag:a-tag or tag:贵宾"


def test_a_shared_name_is_refused_with_the_candidates_and_their_groups(db):
    spend = TagGroup.objects.create(name="消费层级")
    marketing = TagGroup.objects.create(name="营销")
    Tag.objects.create(code="hs-spend", name="高消费", group=spend)
    Tag.objects.create(code="hs-campaign", name="高消费", group=marketing)
    Tag.objects.create(code="hs-loose", name="高消费")
    with pytest.raises(MemberError) as info:
        parse("gender:female and tag:高消费")
    with translation.override("zh-hans"):
        message = info.value.message
    assert "3 个标签都叫“高消费”" in message
    for part in ("编码“hs-spend”（分组：消费层级）", "编码“hs-campaign”（分组：营销）",
                 "编码“hs-loose”（未分组）", "请改用其中一个的编码"):
        assert part in message, message
    with translation.override("en"):
        assert "3 tags are named “高消费”" in info.value.message
        assert "code “hs-spend” in group 消费层级" in info.value.message
    assert parse("tag:hs-campaign") == Term("tag", (Tag.objects.get(code="hs-campaign").pk,))


def test_the_definition_is_kept_with_ids_and_shown_with_current_names(big_spenders, store, now):
    tag, member, _other = big_spenders
    typed = "tag:高消费 且 (store:SH001 或 region:上海市)  and not tag:#999999"
    with pytest.raises(MemberError):  # a deleted or unknown id is refused like a code
        segment_definition_store(expression=typed)
    typed = "tag:高消费 且 (store:SH001 或 region:上海市)"
    kept = segment_definition_store(expression=typed)
    assert kept == f"tag:#{tag.pk} 且 (store:#{store.pk} 或 region:上海市)"
    assert segment_display([kept]) == [typed]  # the operator's own wording and brackets
    assert parse(kept) == parse(typed)


def test_renaming_a_tag_changes_no_segment(big_spenders, now):
    tag, member, other = big_spenders
    Tag.objects.create(code="churned-x", name="流失")
    kept = segment_definition_store(expression="tag:高消费 and not tag:churned-x")
    segment = Segment.objects.create(code="spenders", name="高消费人群", expression=kept)
    before = segment.expression
    tag.name, tag.code = "超高消费", "very-high-spend"
    tag.save()
    segment.refresh_from_db()
    assert segment.expression == before  # nothing rewrote the segment
    assert segment_contains(segment.expression, member.pk, now=now)
    assert not segment_contains(segment.expression, other.pk, now=now)
    assert segment_display([segment.expression]) == ["tag:超高消费 and not tag:流失"]
    # a name that would not read back as one tag is shown as the code
    Tag.objects.create(code="other", name="超高消费")
    assert segment_display([segment.expression]) == ["tag:very-high-spend and not tag:流失"]
    tag.name = "高 消费"  # a space would split the term
    tag.save()
    assert segment_display([segment.expression]) == ["tag:very-high-spend and not tag:流失"]


def test_display_reads_any_number_of_definitions_in_two_queries(django_assert_max_num_queries,
                                                                 db):
    tags = [Tag.objects.create(code=f"t{i}", name=f"标签{i}") for i in range(30)]
    texts = [stored_form(f"tag:t{i} or tag:t{(i + 1) % 30}") for i in range(30)]
    with django_assert_max_num_queries(2):
        shown = segment_display(texts)
    assert shown[3] == "tag:标签3 or tag:标签4" and len(shown) == len(tags)


def test_a_definition_looks_its_tags_and_stores_up_in_two_queries(django_assert_num_queries,
                                                                   store, db):
    for i in range(12):
        Tag.objects.create(code=f"t{i}", name=f"标签{i}")
    text = " or ".join(f"(tag:t{i} and store:SH001 and tag:标签{11 - i})" for i in range(12))
    with django_assert_num_queries(2):
        tree = parse(text)
    assert len(tree.items) == 12
    with django_assert_num_queries(2):
        kept = stored_form(text)
    assert "标签" not in kept and "SH001" not in kept


def test_a_store_is_kept_by_id_and_shown_by_its_current_code(make_member, store, now):
    member = make_member(home_store_code=store.code)
    kept = stored_form("store:SH001")
    Store.objects.filter(pk=store.pk).update(code="SH-001")
    assert segment_contains(kept, member.pk, now=now)
    assert display_form(kept) == "store:SH-001"


def test_an_unknown_region_is_allowed_with_a_hint(make_member, now):
    make_member(region="火星")
    assert segment_count("region:火星", now=now) == 1
    assert segment_hints("region:上海市 or region:北京") == []
    with translation.override("zh-hans"):
        [hint] = segment_hints("region:上海市 or region:火星")
    assert "“火星”不是中国的省级或地级行政区" in hint


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
