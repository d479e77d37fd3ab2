"""Regions (members.regions, members.fields.RegionField, migration 0007): one stored form,
on every write and in every query, so 上海市 and 上海 are one region."""

from __future__ import annotations

import importlib
from collections import Counter
from types import SimpleNamespace

import pytest
from django.db import connection

from core.clock import local_date
from members.models import Member, SegmentFacts, Store, Tag, TagCondition, TagRule
from members.regions import (
    DIVISIONS,
    PROVINCES,
    region_aliases,
    region_known,
    region_matches,
    region_normalise,
)
from members.segment_expr import matches, parse
from members.selectors.segments import segment_count
from members.services.members import MemberInput, member_update
from members.services.tag_rules import tag_rules_refresh


def test_the_table_holds_every_province_and_prefecture():
    assert len(PROVINCES) == 34
    prefectures = [d for d in DIVISIONS.values() if d.province != d.short]
    kinds = Counter("自治州" if d.name.endswith("自治州") else "地区" if d.name.endswith("地区")
                    else d.name[-1] for d in prefectures)
    assert kinds == {"市": 293, "自治州": 30, "地区": 7, "盟": 3}  # 333 in all
    assert {p.name for p in PROVINCES} >= {"内蒙古自治区", "广西壮族自治区", "香港特别行政区",
                                            "澳门特别行政区", "台湾省", "重庆市"}
    per_province = Counter(d.province for d in prefectures)
    assert (per_province["广东"], per_province["四川"], per_province["新疆"]) == (21, 21, 14)
    # every stored form reads back as itself
    for key, short in region_aliases().items():
        assert region_normalise(short) == short, key


@pytest.mark.parametrize("typed,stored", [
    ("上海市", "上海"), ("上海", "上海"), (" 上海市\u3000", "上海"), ("北京市", "北京"),
    ("广东省", "广东"), ("广西壮族自治区", "广西"), ("内蒙古自治区", "内蒙古"), ("内蒙", "内蒙古"),
    ("新疆维吾尔自治区", "新疆"), ("宁夏回族自治区", "宁夏"), ("西藏自治区", "西藏"),
    ("香港特别行政区", "香港"), ("澳门特区", "澳门"),
    ("广州市", "广州"), ("广东省广州市", "广州"), ("广东 广州", "广州"), ("广东/广州市", "广州"),
    ("广西壮族自治区南宁市", "南宁"), ("延边朝鲜族自治州", "延边"), ("延边州", "延边"),
    ("锡林郭勒盟", "锡林郭勒"), ("阿里地区", "阿里"), ("喀什地区", "喀什"),
    ("吉林省", "吉林"), ("吉林", "吉林"), ("吉林市", "吉林市"), ("吉林省吉林市", "吉林市"),
    ("海南", "海南"), ("海南藏族自治州", "海南州"), ("青海省海南藏族自治州", "海南州"),
    # unknown text is kept as typed, trimmed
    ("  火星 ", "火星"), ("上海市浦东新区", "上海市浦东新区"), ("Paris", "Paris"), ("", ""),
])
def test_normalise(typed, stored):
    assert region_normalise(typed) == stored


def test_a_province_in_a_query_covers_its_prefectures():
    assert region_matches(["上海市"]) == ["上海"]
    guangdong = region_matches(["广东省"])
    assert guangdong[0] == "广东" and {"广州", "深圳", "东莞"} <= set(guangdong)
    assert len(guangdong) == 22
    assert region_matches(["广州市", "广州"]) == ["广州"]
    assert "吉林市" in region_matches(["吉林"]) and region_matches(["吉林市"]) == ["吉林市"]
    assert region_matches(["火星"]) == ["火星"]
    assert region_known("上海市") and not region_known("火星")


def test_member_and_store_regions_are_normalised_on_every_write(make_member, now):
    member = make_member(region="上海市")
    assert member.region == "上海"
    assert Member.objects.get(pk=member.pk).region == "上海"
    assert SegmentFacts.objects.get(pk=member.pk).region == "上海"
    member = member_update(member_id=member.pk, data=MemberInput(region=" 广东省广州市 "), now=now)
    assert member.region == "广州" and SegmentFacts.objects.get(pk=member.pk).region == "广州"
    member = member_update(member_id=member.pk, data=MemberInput(region="  火星 "), now=now)
    assert Member.objects.get(pk=member.pk).region == "火星"  # unknown: kept, trimmed

    Member.objects.filter(pk=member.pk).update(region="北京市")  # the ORM everywhere
    assert SegmentFacts.objects.get(pk=member.pk).region == "北京"
    assert Member.objects.filter(region="北京市").get().pk == member.pk  # lookups too

    store = Store.objects.create(code="GZ001", name="广州天河店", region="广东省广州市")
    assert store.region == "广州" and Store.objects.get(pk=store.pk).region == "广州"
    Store.objects.bulk_create([Store(code="NN001", name="南宁店", region="广西壮族自治区南宁市")])
    assert Store.objects.get(code="NN001").region == "南宁"


@pytest.fixture
def spread(make_member):
    regions = ["上海", "广州", "深圳", "广东", "吉林市", "长春", "吉林", "火星", ""]
    return {region: make_member(region=region) for region in regions}


@pytest.mark.parametrize("expression,expected", [
    ("region:上海市", {"上海"}), ("region:上海", {"上海"}),
    ("region:广东省", {"广州", "深圳", "广东"}), ("region:广州市", {"广州"}),
    ("region:广东省广州市", {"广州"}), ("region:吉林", {"吉林市", "长春", "吉林"}),
    ("region:吉林市", {"吉林市"}), ("region:火星", {"火星"}), ("region:木星", set()),
    ("not region:广东", {"上海", "吉林市", "长春", "吉林", "火星", ""}),
])
def test_segment_region_terms_normalise(spread, now, expression, expected):
    assert segment_count(expression, now=now) == len(expected)
    tree = parse(expression)
    assert {region for region, m in spread.items()
            if matches(tree, Member.objects.get(pk=m.pk), (), local_date(now))} == expected


def test_rule_tag_region_conditions_normalise(spread, now):
    tag = Tag.objects.create(code="south", name="华南", kind=Tag.Kind.RULE)
    TagCondition.objects.create(rule=TagRule.objects.create(tag=tag), kind="region",
                                values="广东省，上海市")
    tag_rules_refresh(now=now)
    held = set(tag.member_tags.values_list("member_id", flat=True))
    assert held == {spread[r].pk for r in ("广州", "深圳", "广东", "上海")}


def test_the_migration_normalises_existing_rows_in_sql(make_member, store):
    migration = importlib.import_module("members.migrations.0007_normalise_regions")
    typed = ["上海市", " 广东省广州市 ", "广西壮族自治区", "延边朝鲜族自治州", "吉林省吉林市",
             "\u3000火星 ", "上海市浦东新区", "广东/深圳", "海南藏族自治州", ""]
    members = [make_member() for _ in typed]
    with connection.cursor() as cursor:  # rows from before: written past the model field
        for member, text in zip(members, typed):
            cursor.execute("UPDATE members_member SET region = %s WHERE id = %s",
                           [text, member.pk])
        cursor.execute("UPDATE members_store SET region = '北京市' WHERE id = %s", [store.pk])
    assert SegmentFacts.objects.get(pk=members[0].pk).region == "上海市"

    migration.normalise_regions(None, SimpleNamespace(connection=connection))

    expected = [region_normalise(text) for text in typed]  # SQL and Python agree
    assert expected[:6] == ["上海", "广州", "广西", "延边", "吉林市", "火星"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT m.region, f.region FROM members_member m "
                       "JOIN members_segmentfacts f ON f.member_id = m.id "
                       "WHERE m.id = ANY(%s) ORDER BY m.id", [[m.pk for m in members]])
        assert cursor.fetchall() == [(e, e) for e in expected]
        cursor.execute("SELECT region FROM members_store WHERE id = %s", [store.pk])
        assert cursor.fetchone() == ("北京",)
        # the copying trigger is back on
        cursor.execute("UPDATE members_member SET region = '深圳' WHERE id = %s",
                       [members[0].pk])
    assert SegmentFacts.objects.get(pk=members[0].pk).region == "深圳"
