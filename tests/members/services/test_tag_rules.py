"""Rule tags (members.services.tag_rules, members.tag_conditions): each kind of condition
tags exactly the members who meet it and untags them when they stop, with history rows for
both; the intake refreshes them on a sale, a return and an event."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from loyalty.services.intake import record_activity, record_return, record_sale
from members.errors import MemberError
from members.models import (
    ActivityKind,
    Member,
    MemberStats,
    MemberTag,
    SegmentFacts,
    Tag,
    TagChange,
    TagCondition,
    TagRule,
)
from members.services.activity import ActivityInput
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from members.services.tag_rules import tag_rules_refresh, tag_rules_refresh_member
from members.services.tags import member_tags_add

D = Decimal


def rule(code: str, **condition) -> Tag:
    tag = Tag.objects.create(code=code, name=code, kind=Tag.Kind.RULE)
    tag_rule = TagRule.objects.create(tag=tag)
    TagCondition.objects.create(rule=tag_rule, **condition)
    return tag


def holders(tag: Tag) -> set[int]:
    return set(MemberTag.objects.filter(tag=tag).values_list("member_id", flat=True))


def changes(tag: Tag, member: Member | None = None) -> list[tuple]:
    rows = TagChange.objects.filter(tag_id=tag.pk)
    if member is not None:
        rows = rows.filter(member_id=member.pk)
    return list(rows.order_by("id")
                .values_list("member_id", "action", "cause"))


def sell(store, member, at, order_no, sku="TEA-1", category="茶饮", amount="50.00"):
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=at,
        lines=(LineInput(line_no=1, sku=sku, category=category, quantity=1,
                         gross_amount=D(amount)),)), now=at).order


def assert_cycle(tag, member, others, refresh, change):
    """Tagged exactly as the rule says, untagged after `change`, history for both."""
    refresh()
    assert holders(tag) == {member.pk}
    change()
    refresh()
    assert holders(tag) == set()
    assert changes(tag, member) == [(member.pk, "added", "rule"), (member.pk, "removed", "rule")]
    assert tag.pk not in SegmentFacts.objects.get(pk=member.pk).tag_ids
    assert all(tag.pk not in f.tag_ids
               for f in SegmentFacts.objects.filter(pk__in=[o.pk for o in others]))


@pytest.mark.parametrize("kind,values,field,yes,no", [
    ("gender", "female", "gender", "female", "male"),
    ("region", "上海,北京", "region", "上海", "广州"),
    ("channel", "web,app", "source_channel", "web", "store"),
])
def test_list_attributes(make_member, now, kind, values, field, yes, no):
    tag = rule(f"r-{kind}", kind=kind, values=values)
    member, other = make_member(**{field: yes}), make_member(**{field: no})
    assert_cycle(tag, member, [other], lambda: tag_rules_refresh(now=now),
                 lambda: Member.objects.filter(pk=member.pk).update(**{field: no}))


def test_home_store(make_member, store, other_store, now):
    tag = rule("r-store", kind="home_store", values="SH001")
    member, other = make_member(home_store_code="SH001"), make_member(home_store_code="BJ001")
    assert_cycle(tag, member, [other], lambda: tag_rules_refresh(now=now),
                 lambda: Member.objects.filter(pk=member.pk).update(home_store=other_store))


def test_age_band_from_the_birthday(make_member, now):
    # 2026-03-14 in Shanghai: aged 20–29 means born 1996-03-15 … 2006-03-14
    tag = rule("r-age", kind="age", minimum=20, maximum=29)
    member = make_member(birthday=date(2006, 3, 14))
    too_young, too_old = make_member(birthday=date(2006, 3, 15)), make_member(birthday=date(1996, 3, 14))
    no_birthday = make_member()
    oldest = make_member(birthday=date(1996, 3, 15))
    tag_rules_refresh(now=now)
    assert holders(tag) == {member.pk, oldest.pk}
    Member.objects.filter(pk=oldest.pk).update(birthday=None)
    assert_cycle(tag, member, [too_young, too_old, no_birthday],
                 lambda: tag_rules_refresh(now=now),
                 lambda: Member.objects.filter(pk=member.pk).update(birthday=date(2010, 1, 1)))


def test_statistics_through_the_intake(store, make_member, now):
    tag = rule("r-spend", kind="statistic", statistic="net_spend", minimum=100)
    member, other = make_member(), make_member()
    sale = sell(store, member, now, "S-1", amount="120.00")
    sell(store, other, now, "S-2", amount="99.99")
    assert holders(tag) == {member.pk}  # the sale refreshed it at once
    record_return(ret=ReturnInput(store_code=store.code, order_no="R-1", sale_order_no="S-1",
                                  ordered_at=now, lines=(ReturnLineInput(1, 1),)), now=now)
    assert holders(tag) == set()
    assert changes(tag) == [(member.pk, "added", "rule"), (member.pk, "removed", "rule")]
    assert sale.pk


def test_days_since_the_last_purchase(store, make_member, now):
    tag = rule("r-lapsed", kind="statistic", statistic="days_since_last", minimum=30)
    member, recent, never = make_member(), make_member(), make_member()
    sell(store, member, now - timedelta(days=40), "S-1")
    sell(store, recent, now - timedelta(days=29), "S-2")
    assert_cycle(tag, member, [recent, never], lambda: tag_rules_refresh(now=now),
                 lambda: sell(store, member, now, "S-3"))


@pytest.mark.parametrize("kind,column,value", [("rfm_segment", "rfm_segment", "champions"),
                                               ("lifecycle", "lifecycle", "at_risk")])
def test_rfm_segment_and_lifecycle(store, make_member, now, kind, column, value):
    tag = rule(f"r-{kind}", kind=kind, values=value)
    member, other = make_member(), make_member()
    sell(store, member, now, "S-1")
    sell(store, other, now, "S-2")
    MemberStats.objects.filter(member=member).update(**{column: value})
    assert_cycle(tag, member, [other], lambda: tag_rules_refresh(now=now),
                 lambda: MemberStats.objects.filter(member=member).update(**{column: "x"}))


def test_tier_through_its_system_tag(make_member, now):
    gold = Tag.objects.get(code="tier-gold")  # the ladder's system tag (tiers data)
    tag = rule("r-gold", kind="tag", values="tier-gold")
    member, other = make_member(), make_member()
    member_tags_add(tag_id=gold.pk, member_ids=[member.pk], now=now)
    from members.services.tags import member_tags_remove
    assert_cycle(tag, member, [other], lambda: tag_rules_refresh(now=now),
                 lambda: member_tags_remove(tag_id=gold.pk, member_ids=[member.pk], now=now))


@pytest.mark.parametrize("kind,values", [("category", "咖啡"), ("sku", "COF-1")])
def test_bought_a_category_or_sku_within_n_days(store, make_member, now, kind, values):
    tag = rule(f"r-{kind}", kind=kind, values=values, days=30)
    member, other, long_ago = make_member(), make_member(), make_member()
    sell(store, member, now - timedelta(days=3), "S-1", sku="COF-1", category="咖啡")
    sell(store, other, now, "S-2", sku="TEA-1", category="茶饮")
    sell(store, long_ago, now - timedelta(days=31), "S-3", sku="COF-1", category="咖啡")
    tag_rules_refresh(now=now)
    assert holders(tag) == {member.pk}
    tag_rules_refresh(now=now + timedelta(days=28))  # the purchase is 31 days old
    assert holders(tag) == set()
    assert changes(tag, member) == [(member.pk, "added", "rule"), (member.pk, "removed", "rule")]


def test_checked_in_n_times_this_month(make_member, now):
    tag = rule("r-checkin", kind="activity", values="checkin", minimum=3, period="month")
    member, other = make_member(), make_member()
    for i, who in enumerate([member, member, other, member, other]):
        record_activity(data=ActivityInput(member_id=who.pk, kind=ActivityKind.CHECKIN,
                                           source_key=f"c-{i}", occurred_at=now - timedelta(days=i)),
                        now=now)
    assert holders(tag) == {member.pk}  # the third check-in refreshed it
    tag_rules_refresh(now=now + timedelta(days=20))  # April in Shanghai: a new month
    assert holders(tag) == set()
    assert changes(tag) == [(member.pk, "added", "rule"), (member.pk, "removed", "rule")]
    assert other.pk not in SegmentFacts.objects.get(pk=other.pk).tag_ids


def test_negated_conditions_and_closed_members(make_member, now):
    tag = rule("r-not-female", kind="gender", values="female", negate=True)
    member, female = make_member(gender="male"), make_member(gender="female")
    assert_cycle(tag, member, [female], lambda: tag_rules_refresh(now=now),
                 lambda: Member.objects.filter(pk=member.pk).update(status="closed"))


def test_all_conditions_must_hold(make_member, now):
    tag = rule("r-both", kind="gender", values="female")
    TagCondition.objects.create(rule=tag.rule, kind="region", values="上海")
    both, only_one = make_member(gender="female", region="上海"), make_member(gender="female")
    tag_rules_refresh(now=now)
    assert holders(tag) == {both.pk}
    assert only_one.pk not in holders(tag)


def test_refreshing_one_member_leaves_the_others(make_member, now):
    tag = rule("r-female", kind="gender", values="female")
    a, b = make_member(gender="female"), make_member(gender="female")
    tag_rules_refresh_member(member_id=a.pk, now=now)
    assert holders(tag) == {a.pk}
    assert tag_rules_refresh(now=now).added == 1
    assert tag_rules_refresh(now=now).added == 0  # re-running changes nothing
    assert b.pk in holders(tag)


@pytest.mark.parametrize("condition,reason", [
    ({"kind": "gender", "values": "robot"}, "not one of"),
    ({"kind": "statistic", "statistic": "order_count"}, "bound"),
    ({"kind": "category", "values": "咖啡"}, "days"),
    ({"kind": "activity", "values": "dance", "period": "month"}, "activity kind"),
    ({"kind": "tag", "values": "no-such-tag"}, "no such tag"),
    ({"kind": "age", "minimum": 30, "maximum": 20}, "above"),
])
def test_invalid_conditions_are_refused(condition, reason, db):
    from members.tag_conditions import validate

    with pytest.raises(MemberError) as info:
        validate(TagCondition(**condition))
    assert info.value.code.value == "invalid_rule"
    assert reason in info.value.message


def test_a_profile_update_or_closing_refreshes_the_members_rule_tags(make_member, now):
    from members.services.members import MemberInput, member_set_status, member_update

    tag = rule("r-women", kind="gender", values="female")
    member = make_member(gender="male")
    member_update(member_id=member.pk, data=MemberInput(gender="female"), now=now)
    assert holders(tag) == {member.pk}
    member_set_status(member_id=member.pk, status="closed", now=now)
    assert holders(tag) == set()
    assert changes(tag) == [(member.pk, "added", "rule"), (member.pk, "removed", "rule")]


def test_a_stale_member_saved_back_does_not_undo_a_tag_change(make_member, now):
    from members.services.members import _save

    vip = Tag.objects.create(code="vip", name="VIP")
    member = make_member()
    stale = Member.objects.get(pk=member.pk)  # loaded before the tag was added
    member_tags_add(tag_id=vip.pk, member_ids=[member.pk], now=now)
    stale.name = "新名字"
    _save(stale)
    fresh = Member.objects.get(pk=member.pk)
    assert (fresh.name, vip.pk in SegmentFacts.objects.get(pk=member.pk).tag_ids) == (
        "新名字", True)


@pytest.mark.django_db(transaction=True)
def test_a_nightly_chunk_chosen_as_deadlock_victim_runs_again(make_member, now, monkeypatch):
    from django.db import OperationalError, transaction
    from psycopg import errors as pg_errors

    from members.services import tag_rules

    tag = rule("r-women-2", kind="gender", values="female")
    woman = make_member(gender="female")
    real, calls = tag_rules._sync, []

    def flaky(*args):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from pg_errors.DeadlockDetected()
        return real(*args)

    monkeypatch.setattr(tag_rules, "_sync", flaky)
    tag_rules.tag_rules_refresh(now=now)  # at the top level, as in the nightly task
    assert holders(tag) == {woman.pk} and len(calls) == 2

    calls.clear()
    with pytest.raises(OperationalError), transaction.atomic():
        tag_rules.tag_rules_refresh(now=now)  # inside a caller's transaction: raised
    assert len(calls) == 1


def test_switching_a_rule_off_takes_its_tag_off_at_the_next_refresh(make_member, now):
    women = rule("rule-women", kind="gender", values="female")
    she, he = make_member(gender="female"), make_member(gender="male")
    tag_rules_refresh(now=now)
    assert holders(women) == {she.pk}

    TagRule.objects.filter(tag=women).update(is_active=False)
    tag_rules_refresh(rule_ids=[], now=now)  # a partial refresh leaves other tags alone
    assert holders(women) == {she.pk}
    tag_rules_refresh(now=now)
    assert holders(women) == set() and he.pk not in holders(women)
    assert changes(women) == [(she.pk, "added", "rule"), (she.pk, "removed", "rule")]
    assert women.pk not in SegmentFacts.objects.get(pk=she.pk).tag_ids
