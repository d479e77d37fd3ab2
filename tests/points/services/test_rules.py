"""The earning-rule engine (points.services.rules): formulas, conditions and scopes, caps in Beijing
time, stacking on one basket, points per order line, referrals, custom events, the single
payout path of the intake, rule versions, validation, and the side-effect-free "try it".

Every rule is created through earning_rule_save; the default rules are switched off unless a
test is about them, and purchase points are available at once (pending_days=0)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from loyalty.services.intake import record_activity, record_return, record_sale, register_member
from members.models import ActivityKind, Member, MemberTag, Tag
from members.services.activity import ActivityInput
from members.services.members import MemberInput, member_set_status
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.models import EntryKind, PointsEntry
from points.models.rules import EarningRule, EntryLine, RuleAward, RuleBudget
from points.services.rule_versions import earning_rule_problems, earning_rule_save
from points.services.rules import BasketLine, EarnRequest, Reason, rules_earn, rules_try
from tests.conftest import SHANGHAI
from tests.points.helpers import assert_ledger_consistent, set_points_settings

pytestmark = pytest.mark.django_db

D = Decimal
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def isolated(default_earning_rules):
    """Only the rules a test creates pay; purchase points are available at once."""
    EarningRule.objects.update(is_active=False)
    set_points_settings(pending_days=0)


def at(text: str) -> datetime:
    """A moment in Beijing time: "2026-03-08 23:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def make_rule(now, key: str, **fields) -> EarningRule:
    fields.setdefault("name", key)
    fields.setdefault("event", "sale")
    return earning_rule_save(rule=EarningRule(rule_key=key, **fields), user_id=None, now=now)


def per_yuan(now, key: str, rate: str = "1", **fields) -> EarningRule:
    return make_rule(now, key, formula="per_yuan", points_per_yuan=D(rate), **fields)


def fixed(now, key: str, points: int, **fields) -> EarningRule:
    fields.setdefault("event", "custom")
    if fields["event"] == "custom":
        fields.setdefault("custom_event", "poster")
    return make_rule(now, key, formula="fixed", fixed_points=points, **fields)


def multiplier(now, key: str, factor: str, **fields) -> EarningRule:
    return make_rule(now, key, formula="multiplier", multiplier=D(factor), **fields)


def buy(store, member, *lines, when, order_no: str | None = None):
    """Record a sale through the intake: lines are (sku, category, net paid)."""
    order_no = order_no or f"S-{next(_numbers)}"
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=when,
        lines=tuple(LineInput(line_no=n, sku=sku, category=category, quantity=1,
                              gross_amount=D(amount))
                    for n, (sku, category, amount) in enumerate(lines, start=1))), now=when)


def act(member, kind: str = "custom", *, when, name: str = "", **payload):
    """Record a behaviour event through the intake."""
    if kind == "custom" and not name:
        name = "poster"
    return record_activity(data=ActivityInput(
        member_id=member.pk, kind=kind, name=name, source_key=f"evt-{next(_numbers)}",
        occurred_at=when, payload=payload), now=when)


def outcome(results, member_id: int | None = None) -> dict[str, tuple[int, str]]:
    """rule code → (points, reason) for one beneficiary (all when member_id is None)."""
    return {r.rule.rule_key: (r.points, r.reason) for r in results
            if member_id is None or r.beneficiary_id == member_id}


def sale_points(sale) -> int:
    entry = sale.points.entry if sale.points else None
    return 0 if entry is None else entry.available_delta + entry.pending_delta - entry.debt_delta


def total(member) -> int:
    held = assert_ledger_consistent(member.pk)
    return held["available"] + held["pending"]


TEA = ("TEA-01", "tea", "68.00")
COFFEE = ("COF-01", "coffee", "30.00")
GIFT = ("GIFT-01", "gift", "20.00")


# --- formulas ----------------------------------------------------------------------------------

def test_fixed_points_once_per_event(member, now):
    fixed(now, "poster", 30)

    first = act(member, when=now)

    assert outcome(first.earned.results) == {"poster": (30, Reason.AWARDED)}
    assert first.earned.points_for(member.pk) == 30
    assert total(member) == 30
    award = RuleAward.objects.get()
    assert (award.rule.rule_key, award.points, award.member_id) == ("poster", 30, member.pk)


@pytest.mark.parametrize(("amount", "rounding", "expected"), [
    ("10.50", "down", 15), ("10.50", "half_up", 16), ("10.50", "up", 16),   # 15.75
    ("10.30", "down", 15), ("10.30", "half_up", 15), ("10.30", "up", 16),   # 15.45
    ("10.00", "down", 15), ("10.00", "half_up", 15), ("10.00", "up", 15),   # 15 exactly
])
def test_per_yuan_rounds_as_the_rule_says(store, member, now, amount, rounding, expected):
    per_yuan(now, "purchase-x", "1.5", rounding=rounding)

    sale = buy(store, member, ("TEA-01", "tea", amount), when=now)

    assert outcome(sale.rules) == {"purchase-x": (expected, Reason.AWARDED)}
    assert sale_points(sale) == expected == total(member)


def test_per_yuan_rounds_the_order_not_each_line(store, member, now):
    per_yuan(now, "purchase-x", "1.5", rounding="down")

    # 3 × ¥10.50 = 31.5 yuan → 47.25 → 47 (rounding each line down would give 45)
    sale = buy(store, member, *[("TEA-01", "tea", "10.50")] * 3, when=now)

    assert sale_points(sale) == 47
    assert sum(EntryLine.objects.values_list("points", flat=True)) == 47


def test_multiplier_applies_to_matching_lines_only(store, member, now):
    per_yuan(now, "base")
    multiplier(now, "tea-double", "2", categories=["tea"])

    sale = buy(store, member, ("TEA-01", "tea", "100.00"), ("COF-01", "coffee", "40.00"),
               when=now)

    # tea 100 × 2 + coffee 40 × 1; the multiplier reports the extra it added
    assert outcome(sale.rules) == {"base": (240, Reason.AWARDED),
                                   "tea-double": (100, Reason.AWARDED)}
    assert sale_points(sale) == 240 == total(member)
    by_sku = dict(EntryLine.objects.values_list("order_line__sku", "points"))
    assert by_sku == {"TEA-01": 200, "COF-01": 40}


def test_a_multiplier_without_base_points_gives_nothing(store, member, now):
    multiplier(now, "tea-double", "2", categories=["tea"])

    sale = buy(store, member, TEA, when=now)

    assert outcome(sale.rules) == {"tea-double": (0, Reason.NOTHING_TO_MULTIPLY)}
    assert total(member) == 0


# --- conditions and scopes: each includes and excludes -------------------------------------------

def test_store_scope(store, other_store, member, now):
    per_yuan(now, "sh-only", store_codes=[store.code])

    inside = buy(store, member, TEA, when=now)
    outside = buy(other_store, member, TEA, when=now)

    assert outcome(inside.rules) == {"sh-only": (68, Reason.AWARDED)}
    assert outcome(outside.rules) == {"sh-only": (0, Reason.OUT_OF_SCOPE)}
    assert outside.points is None
    assert total(member) == 68


def test_store_scope_for_an_event_reads_the_events_store(store, other_store, member, now):
    fixed(now, "poster", 30, store_codes=[store.code])

    inside = act(member, when=now, store=store.code)
    outside = act(member, when=now, store=other_store.code)
    nowhere = act(member, when=now)

    assert outcome(inside.earned.results) == {"poster": (30, Reason.AWARDED)}
    assert outcome(outside.earned.results) == {"poster": (0, Reason.OUT_OF_SCOPE)}
    assert outcome(nowhere.earned.results) == {"poster": (0, Reason.OUT_OF_SCOPE)}
    assert total(member) == 30


@pytest.mark.parametrize(("scope", "mixed", "excluded_basket"), [
    ({"categories": ["tea"]}, 68, (COFFEE,)),
    ({"skus": ["TEA-01"]}, 68, (("TEA-02", "tea", "30.00"),)),
    ({"exclude_categories": ["coffee", "gift"]}, 68, (COFFEE, GIFT)),
    ({"exclude_skus": ["COF-01", "GIFT-01"]}, 68, (COFFEE, GIFT)),
    ({"categories": ["tea", "coffee"], "exclude_skus": ["COF-01"]}, 68, (COFFEE,)),
])
def test_line_scope(store, member, now, scope, mixed, excluded_basket):
    per_yuan(now, "scoped", **scope)

    included = buy(store, member, TEA, COFFEE, GIFT, when=now)
    excluded = buy(store, member, *excluded_basket, when=now)

    # only the tea line (¥68) of ¥118 counts
    assert outcome(included.rules) == {"scoped": (mixed, Reason.AWARDED)}
    assert dict(EntryLine.objects.filter(entry__order=included.order)
                .values_list("order_line__sku", "points")) == {"TEA-01": 68}
    assert outcome(excluded.rules) == {"scoped": (0, Reason.OUT_OF_SCOPE)}
    assert excluded.points is None
    assert total(member) == mixed


def test_a_fixed_sale_bonus_follows_its_category_scope(store, member, now):
    """A fixed bonus for buying tea pays for a basket with tea, not for one without; its
    points sit on the tea line, so returning the coffee takes none of them back."""
    fixed(now, "tea-bonus", 50, event="sale", categories=["tea"])

    with_tea = buy(store, member, TEA, COFFEE, when=now, order_no="S-TEA")
    without = buy(store, member, COFFEE, when=now)

    assert outcome(with_tea.rules) == {"tea-bonus": (50, Reason.AWARDED)}
    assert outcome(without.rules) == {"tea-bonus": (0, Reason.OUT_OF_SCOPE)}
    assert dict(EntryLine.objects.values_list("order_line__sku", "points")) == {"TEA-01": 50}
    record_return(ret=ReturnInput(store_code=store.code, order_no="R-COF", sale_order_no="S-TEA",
                                  ordered_at=now, lines=(ReturnLineInput(2, 1),)), now=now)
    assert total(member) == 50


def test_member_tags_any_of(store, make_member, now):
    gold = Tag.objects.create(code="gold", name="金卡")
    vip = Tag.objects.create(code="vip", name="VIP")
    other = Tag.objects.create(code="other", name="其他")
    per_yuan(now, "tagged", tag_ids=[gold.pk, vip.pk])
    has_vip, has_other, has_none = make_member(), make_member(), make_member()
    MemberTag.objects.create(member=has_vip, tag=vip, added_at=now)
    MemberTag.objects.create(member=has_other, tag=other, added_at=now)

    assert outcome(buy(store, has_vip, TEA, when=now).rules) == {"tagged": (68, Reason.AWARDED)}
    assert outcome(buy(store, has_other, TEA, when=now).rules) == {
        "tagged": (0, Reason.TAG_MISSING)}
    assert outcome(buy(store, has_none, TEA, when=now).rules) == {
        "tagged": (0, Reason.TAG_MISSING)}
    assert (total(has_vip), total(has_other), total(has_none)) == (68, 0, 0)


def test_minimum_order_amount_is_inclusive(store, member, now):
    per_yuan(now, "big-baskets", min_order_amount=D("100.00"))

    exact = buy(store, member, ("TEA-01", "tea", "70.00"), ("COF-01", "coffee", "30.00"),
                when=now)
    short = buy(store, member, ("TEA-01", "tea", "70.00"), ("COF-01", "coffee", "29.99"),
                when=now)

    assert outcome(exact.rules) == {"big-baskets": (100, Reason.AWARDED)}
    assert outcome(short.rules) == {"big-baskets": (0, Reason.BELOW_MINIMUM)}
    assert total(member) == 100


@pytest.mark.parametrize(("moment", "reason"), [
    ("2026-03-01 00:00:00", Reason.AWARDED),            # valid_from is inclusive
    ("2026-03-31 23:59:59", Reason.AWARDED),
    ("2026-02-28 23:59:59", Reason.OUTSIDE_WINDOW),
    ("2026-04-01 00:00:00", Reason.OUTSIDE_WINDOW),     # valid_until is exclusive
])
def test_date_window(member, now, moment, reason):
    fixed(now, "march", 30, valid_from=at("2026-03-01 00:00"), valid_until=at("2026-04-01 00:00"))

    result = act(member, when=at(moment))

    assert outcome(result.earned.results) == {
        "march": (30 if reason == Reason.AWARDED else 0, reason)}
    assert total(member) == (30 if reason == Reason.AWARDED else 0)


@pytest.mark.parametrize(("moment", "reason"), [
    ("2026-03-08 07:30", Reason.AWARDED),     # Sunday in Beijing, Saturday 23:30 in UTC
    ("2026-03-08 23:30", Reason.AWARDED),     # Sunday in Beijing, Sunday 15:30 in UTC
    ("2026-03-09 00:30", Reason.WRONG_DAY),   # Monday in Beijing, still Sunday in UTC
    ("2026-03-07 23:30", Reason.WRONG_DAY),   # Saturday
])
def test_days_of_the_week_in_beijing_time(store, member, moment, reason):
    when = at(moment)
    per_yuan(when, "sunday", weekdays=[7])

    sale = buy(store, member, TEA, when=when)

    assert outcome(sale.rules) == {"sunday": (68 if reason == Reason.AWARDED else 0, reason)}


@pytest.mark.parametrize(("moment", "reason"), [
    ("2026-03-08 07:30", Reason.AWARDED),     # the 8th in Beijing, the 7th in UTC
    ("2026-03-08 23:30", Reason.AWARDED),     # the 8th in Beijing, 8th 15:30 UTC
    ("2026-03-09 00:30", Reason.WRONG_DAY),   # the 9th in Beijing, still the 8th in UTC
    ("2026-04-08 12:00", Reason.AWARDED),
])
def test_days_of_the_month_in_beijing_time(member, moment, reason):
    when = at(moment)
    fixed(when, "member-day", 88, month_days=[8])

    result = act(member, when=when)

    assert outcome(result.earned.results) == {
        "member-day": (88 if reason == Reason.AWARDED else 0, reason)}
    assert total(member) == (88 if reason == Reason.AWARDED else 0)


def test_a_frozen_member_earns_nothing(store, member, now):
    per_yuan(now, "base")
    fixed(now, "poster", 30)
    member_set_status(member_id=member.pk, status=Member.Status.FROZEN, now=now)

    sale = buy(store, member, TEA, when=now)
    event = act(member, when=now)

    assert outcome(sale.rules) == {"base": (0, Reason.MEMBER_FROZEN)}
    assert outcome(event.earned.results) == {"poster": (0, Reason.MEMBER_FROZEN)}
    assert sale.points is None and event.earned.movements == {}
    assert not PointsEntry.objects.filter(member=member).exists()
    assert not RuleAward.objects.exists()


# --- caps, in Beijing periods -------------------------------------------------------------------

# (first, later in the same Beijing period, just into the next Beijing period). Each
# "same" is in another UTC period than "first", each "next" in the same UTC period as
# "same": a cap counted in UTC gets every step wrong. The week starts on Monday.
PERIODS = {
    "day": ("2026-03-14 07:50", "2026-03-14 08:10", "2026-03-15 00:10"),
    "week": ("2026-03-16 07:50", "2026-03-22 23:50", "2026-03-23 00:10"),
    "month": ("2026-04-01 07:50", "2026-04-30 23:50", "2026-05-01 00:10"),
    "year": ("2027-01-01 07:50", "2027-12-31 23:50", "2028-01-01 00:10"),
}


@pytest.mark.parametrize("period", PERIODS)
def test_times_cap_per_period(member, period):
    first, same, following = (at(t) for t in PERIODS[period])
    fixed(first, "capped", 60, cap_period=period, cap_times=1)

    assert outcome(act(member, when=first).earned.results) == {"capped": (60, Reason.AWARDED)}
    assert outcome(act(member, when=same).earned.results) == {"capped": (0, Reason.CAP_REACHED)}
    assert outcome(act(member, when=following).earned.results) == {
        "capped": (60, Reason.AWARDED)}
    assert total(member) == 120


@pytest.mark.parametrize("period", PERIODS)
def test_points_cap_per_period_trims_then_stops(member, period):
    first, same, following = (at(t) for t in PERIODS[period])
    fixed(first, "capped", 60, cap_period=period, cap_points=100)

    assert outcome(act(member, when=first).earned.results) == {"capped": (60, Reason.AWARDED)}
    assert outcome(act(member, when=same).earned.results) == {"capped": (40, Reason.CAPPED)}
    assert outcome(act(member, when=same).earned.results) == {"capped": (0, Reason.CAP_REACHED)}
    assert outcome(act(member, when=following).earned.results) == {
        "capped": (60, Reason.AWARDED)}
    assert total(member) == 160
    assert sorted(RuleAward.objects.values_list("points", flat=True)) == [40, 60, 60]


@pytest.mark.parametrize("limit", [{"cap_times": 1}, {"cap_points": 60}])
def test_lifetime_cap(member, now, limit):
    fixed(now, "once", 60, cap_period="lifetime", **limit)

    assert outcome(act(member, when=now).earned.results) == {"once": (60, Reason.AWARDED)}
    assert outcome(act(member, when=now + timedelta(days=5 * 365)).earned.results) == {
        "once": (0, Reason.CAP_REACHED)}
    assert total(member) == 60


def test_caps_count_per_member(make_member, now):
    fixed(now, "daily", 60, cap_period="day", cap_times=1)
    one, two = make_member(), make_member()

    assert outcome(act(one, when=now).earned.results) == {"daily": (60, Reason.AWARDED)}
    assert outcome(act(two, when=now).earned.results) == {"daily": (60, Reason.AWARDED)}


def test_a_late_event_counts_against_its_own_period(member):
    """An event that arrives after a later one (an offline till uploading yesterday's
    check-in) is capped by its own day, not by the days after it."""
    fixed(at("2026-03-01 00:00"), "daily", 5, cap_period="day", cap_times=1)

    today = act(member, when=at("2026-03-15 09:00"))
    yesterday = act(member, when=at("2026-03-14 09:00"))
    again_yesterday = act(member, when=at("2026-03-14 20:00"))

    assert outcome(today.earned.results) == {"daily": (5, Reason.AWARDED)}
    assert outcome(yesterday.earned.results) == {"daily": (5, Reason.AWARDED)}
    assert outcome(again_yesterday.earned.results) == {"daily": (0, Reason.CAP_REACHED)}
    assert total(member) == 10


# --- stacking on one basket -----------------------------------------------------------------------

BASKET = (("TEA-01", "tea", "100.00"), ("COF-01", "coffee", "40.00"), ("GIFT-01", "gift", "20.00"))


def test_two_base_rules_add_up(store, member, now):
    per_yuan(now, "base")
    per_yuan(now, "tea-bonus", "0.5", categories=["tea"])

    sale = buy(store, member, *BASKET, when=now)

    assert outcome(sale.rules) == {"base": (160, Reason.AWARDED),
                                   "tea-bonus": (50, Reason.AWARDED)}
    assert sale_points(sale) == 210 == total(member)


def test_two_multipliers_on_one_line_multiply(store, member, now):
    per_yuan(now, "base")
    multiplier(now, "double", "2", categories=["tea"], priority=10)
    multiplier(now, "half-more", "1.5", categories=["tea"], priority=20)

    sale = buy(store, member, *BASKET, when=now)

    # tea 100 × 2 × 1.5 = 300 (adding the factors would give 250); coffee 40, gift 20
    assert outcome(sale.rules)["base"] == (360, Reason.AWARDED)
    assert sale_points(sale) == 360 == total(member)
    assert dict(EntryLine.objects.values_list("order_line__sku", "points")) == {
        "TEA-01": 300, "COF-01": 40, "GIFT-01": 20}


def test_a_category_multiplier_leaves_other_lines_alone(store, member, now):
    per_yuan(now, "base")
    multiplier(now, "all-double", "2", priority=10)
    multiplier(now, "tea-more", "1.5", categories=["tea"], priority=20)

    sale = buy(store, member, *BASKET, when=now)

    # tea 100 × 2 × 1.5 = 300, coffee 40 × 2 = 80, gift 20 × 2 = 40
    assert outcome(sale.rules) == {"base": (420, Reason.AWARDED),
                                   "all-double": (160, Reason.AWARDED),
                                   "tea-more": (100, Reason.AWARDED)}
    assert dict(EntryLine.objects.values_list("order_line__sku", "points")) == {
        "TEA-01": 300, "COF-01": 80, "GIFT-01": 40}
    assert total(member) == 420


def test_stop_further_ends_the_list_when_it_applies(store, member, now):
    per_yuan(now, "tea-special", "3", categories=["tea"], priority=10, stop_further=True)
    per_yuan(now, "base", priority=20)
    multiplier(now, "double", "2", priority=30)

    stopped = buy(store, member, *BASKET, when=now)
    not_applying = buy(store, member, ("COF-01", "coffee", "40.00"), when=now)

    assert outcome(stopped.rules) == {"tea-special": (300, Reason.AWARDED),
                                      "base": (0, Reason.STOPPED),
                                      "double": (0, Reason.STOPPED)}
    assert sale_points(stopped) == 300
    # the stopping rule is out of scope here, so the later rules run
    assert outcome(not_applying.rules) == {"tea-special": (0, Reason.OUT_OF_SCOPE),
                                           "base": (80, Reason.AWARDED),
                                           "double": (40, Reason.AWARDED)}
    assert total(member) == 380


def test_the_tier_multiplier_applies_last_and_caps_count_it(member, now):
    per_yuan(now, "base", cap_period="day", cap_points=250)
    multiplier(now, "double", "2")
    fixed(now, "poster", 30)

    lines = (BasketLine(line_no=1, sku="TEA-01", category="tea", net_amount=D("100.00")),)
    sale = rules_earn(EarnRequest(event="sale", member_id=member.pk, occurred_at=now,
                                  lines=lines, tier_multiplier=D("1.5")),
                      source_key="tier-sale", now=now, pending_days=0)
    event = rules_earn(EarnRequest(event="custom", custom_event="poster", member_id=member.pk,
                                   occurred_at=now, tier_multiplier=D("1.5")),
                       source_key="tier-event", now=now, pending_days=0)

    # 100 × 2 × 1.5 = 300 — 100 of the base, 100 the double adds, 100 the tier adds to
    # both — trimmed by the 250 cap, each part keeping 250/300 of itself (the one point
    # left over by rounding goes to the first part); the fixed 30 becomes 45, 15 by the tier
    assert outcome(sale.results) == {"base": (250, Reason.CAPPED), "double": (83, Reason.CAPPED)}
    assert (sale.benefit_points_for(member.pk), event.benefit_points_for(member.pk)) == (83, 15)
    assert outcome(event.results) == {"poster": (45, Reason.AWARDED)}
    assert total(member) == 295


def test_caps_count_points_after_multipliers(store, member, now):
    per_yuan(now, "base", cap_period="day", cap_points=150)
    multiplier(now, "double", "2")

    first = buy(store, member, ("TEA-01", "tea", "100.00"), when=now)
    second = buy(store, member, ("TEA-01", "tea", "10.00"), when=now + timedelta(hours=1))

    assert outcome(first.rules)["base"] == (150, Reason.CAPPED)   # 200 before the cap
    assert outcome(second.rules)["base"] == (0, Reason.CAP_REACHED)
    assert total(member) == 150


def test_a_multiplier_points_cap_trims_its_extra(store, member, now):
    """A points cap trims the award (README, "How rules combine"), a multiplier's too."""
    per_yuan(now, "base")
    multiplier(now, "double", "2", cap_period="day", cap_points=30)

    first = buy(store, member, ("TEA-01", "tea", "100.00"), when=now)
    second = buy(store, member, ("TEA-01", "tea", "10.00"), when=now + timedelta(hours=1))

    # the double would add 100; 30 of its cap are left, so it adds 30
    assert outcome(first.rules) == {"base": (130, Reason.AWARDED),
                                    "double": (30, Reason.CAPPED)}
    assert sale_points(first) == 130
    assert outcome(second.rules) == {"base": (10, Reason.AWARDED),
                                     "double": (0, Reason.CAP_REACHED)}
    assert total(member) == 140
    assert dict(RuleAward.objects.filter(rule_key="double").values_list("rule_key", "points")) \
        == {"double": 30}


def test_a_multiplier_counts_only_what_the_base_cap_leaves_it(store, member, now):
    """A budget counts the points actually awarded by its rule: when the base rule's cap
    trims the multiplied award, the multiplier's explanation and budget shrink with it."""
    per_yuan(now, "base", cap_period="day", cap_points=150)
    multiplier(now, "double", "2", budget_points=1000)

    first = buy(store, member, ("TEA-01", "tea", "100.00"), when=now)
    second = buy(store, member, ("TEA-01", "tea", "10.00"), when=now + timedelta(hours=1))

    # 100 base + 100 extra = 200, trimmed to 150: each part keeps three quarters
    assert outcome(first.rules) == {"base": (150, Reason.CAPPED),
                                    "double": (75, Reason.CAPPED)}
    assert outcome(second.rules)["base"] == (0, Reason.CAP_REACHED)
    assert outcome(second.rules)["double"][0] == 0
    assert total(member) == 150
    awarded = RuleAward.objects.filter(rule_key="double").aggregate(s=Sum("points"))["s"]
    spent = RuleBudget.objects.filter(rule_key="double").aggregate(s=Sum("spent"))["s"]
    assert awarded == spent == 75


# --- points per order line ------------------------------------------------------------------------

def test_entry_lines_add_up_to_the_entry(store, member, now):
    per_yuan(now, "base", "1.5", rounding="half_up")
    per_yuan(now, "tea-bonus", "0.3", categories=["tea"], rounding="up")
    multiplier(now, "coffee-double", "2", categories=["coffee"])
    fixed(now, "big-basket", 7, event="sale")

    sale = buy(store, member, ("TEA-01", "tea", "33.33"), ("COF-01", "coffee", "17.77"),
               ("GIFT-01", "gift", "9.99"), when=now)

    lines = EntryLine.objects.filter(entry=sale.points.entry)
    assert lines.count() == 3
    assert lines.aggregate(s=Sum("points"))["s"] == sale_points(sale) == total(member)


def test_a_return_of_one_line_reverses_what_that_line_earned(store, member, now):
    per_yuan(now, "base")
    multiplier(now, "tea-double", "2", categories=["tea"])
    buy(store, member, ("TEA-01", "tea", "100.00"), ("COF-01", "coffee", "100.00"),
        when=now, order_no="S-1")
    assert total(member) == 300  # tea 200, coffee 100

    ret = record_return(ret=ReturnInput(store_code=store.code, order_no="R-1",
                                        sale_order_no="S-1", ordered_at=now,
                                        lines=(ReturnLineInput(2, 1),)), now=now)

    # the coffee line earned 100; half the order's net would have been 150
    entry = ret.points.entry
    assert (entry.kind, entry.available_delta) == (EntryKind.REVERSE, -100)
    assert total(member) == 200


# --- referrals and custom events ------------------------------------------------------------------

@pytest.mark.parametrize(("beneficiary", "member_gets", "referrer_gets"), [
    ("member", 200, 0), ("referrer", 0, 200), ("both", 200, 200)])
def test_referral_converted_rewards_whom_the_rule_says(make_member, now, beneficiary,
                                                       member_gets, referrer_gets):
    referrer = make_member()
    invited = make_member()
    fixed(now, "referral", 200, event="referral_converted", beneficiary=beneficiary)

    result = act(invited, "referral_converted", when=now, referrer=referrer.pk)

    assert result.earned.points_for(invited.pk) == member_gets
    assert result.earned.points_for(referrer.pk) == referrer_gets
    assert (total(invited), total(referrer)) == (member_gets, referrer_gets)
    assert set(RuleAward.objects.values_list("member_id", "points")) == (
        {(invited.pk, 200)} if member_gets else set()) | (
        {(referrer.pk, 200)} if referrer_gets else set())


def test_referral_without_a_referrer(member, now):
    fixed(now, "referral", 200, event="referral_converted", beneficiary="both")

    result = act(member, "referral_converted", when=now)

    assert [(r.beneficiary_id, r.points, r.reason) for r in result.earned.results] == [
        (member.pk, 200, Reason.AWARDED), (None, 0, Reason.NO_REFERRER)]
    assert total(member) == 200


def test_a_custom_rule_answers_only_its_named_event(member, now):
    fixed(now, "poster", 30, custom_event="share_poster")
    fixed(now, "quiz", 10, custom_event="quiz_done")

    poster = act(member, when=now, name="share_poster")
    other = act(member, when=now, name="something_else")

    assert outcome(poster.earned.results) == {"poster": (30, Reason.AWARDED)}
    assert other.earned.results == [] and other.earned.movements == {}
    assert total(member) == 30


# --- one payout path ----------------------------------------------------------------------------

def test_registration_pays_the_registration_rule_once(store, now):
    EarningRule.objects.filter(rule_key="registration").update(is_active=True)

    registered = register_member(data=MemberInput(mobile="13900139000", name="李四"), now=now)
    member = registered.member
    again = act(member, ActivityKind.REGISTRATION, when=now + timedelta(minutes=1))

    assert outcome(registered.earned.results) == {"registration": (100, Reason.AWARDED)}
    assert outcome(again.earned.results) == {"registration": (0, Reason.CAP_REACHED)}
    assert total(member) == 100
    assert PointsEntry.objects.filter(member=member).count() == 1


def test_check_in_pays_once_a_day(member):
    EarningRule.objects.filter(rule_key="daily-checkin").update(is_active=True)

    morning = act(member, ActivityKind.CHECKIN, when=at("2026-03-14 07:50"))
    evening = act(member, ActivityKind.CHECKIN, when=at("2026-03-14 23:50"))
    tomorrow = act(member, ActivityKind.CHECKIN, when=at("2026-03-15 00:10"))

    assert outcome(morning.earned.results) == {"daily-checkin": (5, Reason.AWARDED)}
    assert outcome(evening.earned.results) == {"daily-checkin": (0, Reason.CAP_REACHED)}
    assert outcome(tomorrow.earned.results) == {"daily-checkin": (5, Reason.AWARDED)}
    assert total(member) == 10


def test_a_replayed_event_pays_nothing_more(member, now):
    fixed(now, "poster", 30)
    data = ActivityInput(member_id=member.pk, kind="custom", name="poster", source_key="e-1",
                         occurred_at=now)

    first = record_activity(data=data, now=now)
    second = record_activity(data=data, now=now + timedelta(minutes=1))

    assert (first.created, second.created) == (True, False)
    assert outcome(second.earned.results) == {"poster": (30, Reason.DUPLICATE)}
    assert second.earned.points_for(member.pk) == 30
    assert total(member) == 30


# --- versions -----------------------------------------------------------------------------------

def test_editing_a_rule_makes_a_new_version_and_old_awards_keep_theirs(store, member, now):
    v1 = per_yuan(now, "purchase-x", "1", cap_period="lifetime", cap_times=2)
    first = buy(store, member, TEA, when=now)

    edited = EarningRule.objects.get(pk=v1.pk)
    edited.points_per_yuan = D("2")
    v2 = earning_rule_save(rule=edited, user_id=None, now=now + timedelta(hours=1))
    second = buy(store, member, TEA, when=now + timedelta(hours=2))
    third = buy(store, member, TEA, when=now + timedelta(hours=3))

    v1.refresh_from_db()
    assert (v1.version, v1.is_current, v1.points_per_yuan) == (1, False, D("1"))
    assert (v2.version, v2.is_current, v2.points_per_yuan, v2.rule_key) == (
        2, True, D("2"), "purchase-x")
    assert v2.pk != v1.pk
    assert EarningRule.objects.filter(rule_key="purchase-x").count() == 2
    old = RuleAward.objects.get(entry__order=first.order)
    new = RuleAward.objects.get(entry__order=second.order)
    assert (old.rule_id, old.points, old.detail) == (v1.pk, 68, "1/¥")
    assert (new.rule_id, new.points, new.detail) == (v2.pk, 136, "2/¥")
    # the lifetime cap of 2 counts the awards of both versions
    assert outcome(third.rules) == {"purchase-x": (0, Reason.CAP_REACHED)}
    assert third.rules[0].rule.pk == v2.pk
    assert total(member) == 204


def test_saving_without_a_change_keeps_the_version(now):
    v1 = fixed(now, "poster", 30)

    again = earning_rule_save(rule=EarningRule.objects.get(pk=v1.pk), user_id=None, now=now)

    assert again.pk == v1.pk
    versions = EarningRule.objects.filter(rule_key="poster").values_list("version", "is_current")
    assert list(versions) == [(1, True)]


def test_a_stale_copy_of_a_rule_cannot_overwrite_a_newer_version(now):
    """Two operators open version 1; the first saves (version 2). The second's save must
    not quietly write a version 3 that drops the first one's change."""
    v1 = fixed(now, "poster", 30)
    first, second = EarningRule.objects.get(pk=v1.pk), EarningRule.objects.get(pk=v1.pk)
    first.fixed_points = 40
    earning_rule_save(rule=first, user_id=None, now=now)
    second.name = "Poster (renamed)"

    with pytest.raises(ValueError):
        earning_rule_save(rule=second, user_id=None, now=now)

    current = EarningRule.objects.get(rule_key="poster", is_current=True)
    assert (current.version, current.fixed_points, current.name) == (2, 40, "poster")
    assert EarningRule.objects.filter(rule_key="poster").count() == 2


def test_a_budget_survives_an_edit(member, now):
    v1 = fixed(now, "poster", 100, budget_points=1000)
    act(member, when=now)
    assert RuleBudget.objects.filter(rule_key="poster").aggregate(s=Sum("spent"))["s"] == 100

    edited = EarningRule.objects.get(pk=v1.pk)
    edited.budget_points = 500
    earning_rule_save(rule=edited, user_id=None, now=now)

    row = RuleBudget.objects.filter(rule_key="poster").aggregate(a=Sum("allotted"), s=Sum("spent"))
    assert (row["a"], row["s"]) == (500, 100)


# --- validation ---------------------------------------------------------------------------------

def _draft(**fields) -> EarningRule:
    base = dict(rule_key="draft", name="draft", event="custom", custom_event="poster",
                formula="fixed", fixed_points=10)
    return EarningRule(**{**base, **fields})


@pytest.mark.parametrize(("fields", "field"), [
    ({"fixed_points": 0}, "fixed_points"),
    ({"formula": "per_yuan", "points_per_yuan": D("1")}, "formula"),
    ({"event": "sale", "custom_event": "", "formula": "per_yuan", "points_per_yuan": D(0)},
     "points_per_yuan"),
    ({"event": "sale", "custom_event": "", "formula": "multiplier", "multiplier": D("1")},
     "multiplier"),
    ({"event": "sale", "custom_event": "", "formula": "multiplier", "multiplier": D("0.5")},
     "multiplier"),
    ({"custom_event": "  "}, "custom_event"),
    ({"cap_period": "day"}, "cap_period"),
    ({"cap_times": 1}, "cap_period"),
    ({"valid_from": datetime(2026, 4, 1, tzinfo=SHANGHAI),
      "valid_until": datetime(2026, 3, 1, tzinfo=SHANGHAI)}, "valid_until"),
    ({"weekdays": [0]}, "weekdays"),
    ({"month_days": [32]}, "month_days"),
])
def test_problems_are_caught_before_saving(now, fields, field):
    rule = _draft(**fields)

    problems = earning_rule_problems(rule)

    assert [p.field for p in problems] == [field]
    assert all(p.message for p in problems)
    with pytest.raises(ValueError):
        earning_rule_save(rule=rule, user_id=None, now=now)
    assert not EarningRule.objects.filter(rule_key="draft").exists()


def test_a_sound_rule_has_no_problems():
    assert earning_rule_problems(_draft()) == []
    assert earning_rule_problems(_draft(event="sale", custom_event="", formula="multiplier",
                                        multiplier=D("1.01"))) == []


# --- try it -------------------------------------------------------------------------------------

def _footprint() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM points_pointsentry),"
            " (SELECT count(*) FROM points_ruleaward),"
            " (SELECT COALESCE(SUM(spent), 0) FROM points_rulebudget),"
            " (SELECT count(*) FROM points_entryline), (SELECT count(*) FROM points_pointslot),"
            " (SELECT COALESCE(SUM(available + pending), 0) FROM points_pointsaccount)")
        return cursor.fetchone()


def test_try_writes_nothing_and_matches_a_real_earning(member, now):
    per_yuan(now, "base", "1.5", rounding="half_up", budget_points=10_000)
    per_yuan(now, "tea-bonus", "0.5", categories=["tea"], rounding="up",
             cap_period="day", cap_points=120)
    multiplier(now, "tea-double", "2", categories=["tea"], budget_points=5_000)
    per_yuan(now, "coffee-only", categories=["coffee"])
    lines = (BasketLine(line_no=1, sku="TEA-01", category="tea", net_amount=D("45.50")),
             BasketLine(line_no=2, sku="GIFT-01", category="gift", net_amount=D("9.90")))

    def request():
        return EarnRequest(event="sale", member_id=member.pk, occurred_at=now, lines=lines,
                           tier_multiplier=D("1.2"))

    def summary(results):
        return [(r.rule.rule_key, r.beneficiary_id, r.points, r.reason) for r in results]

    bonus = []
    for n in range(4):  # the cap is left, left, trimmed, reached
        before = _footprint()
        tried = rules_try(request(), now=now)
        assert _footprint() == before
        earned = rules_earn(request(), source_key=f"try-then-earn-{n}", now=now, pending_days=0)
        assert summary(tried) == summary(earned.results)
        assert _footprint() != before
        bonus.append(outcome(earned.results)["tea-bonus"])

    # tea 45.50 × 0.5 × 2 × 1.2 = 54.6 → 55 (up)
    assert bonus == [(55, Reason.AWARDED), (55, Reason.AWARDED), (10, Reason.CAPPED),
                     (0, Reason.CAP_REACHED)]


def test_try_reports_a_budget_like_a_real_earning(make_member, now):
    fixed(now, "poster", 100, budget_points=200)
    first, second, third = make_member(), make_member(), make_member()
    act(first, when=now)

    def tried(member):
        return outcome(rules_try(EarnRequest(event="custom", custom_event="poster",
                                             member_id=member.pk, occurred_at=now)))

    # exactly what is left can still be paid; then nothing
    assert tried(second) == outcome(act(second, when=now).earned.results) == {
        "poster": (100, Reason.AWARDED)}
    assert tried(third) == outcome(act(third, when=now).earned.results) == {
        "poster": (0, Reason.BUDGET_SPENT)}
    assert (total(second), total(third)) == (100, 0)
    assert RuleBudget.objects.filter(rule_key="poster").aggregate(s=Sum("spent"))["s"] == 200
