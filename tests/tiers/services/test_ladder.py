"""Growth and the tier ladder (DESIGN §2.2): the reference ladder walked date by date on a
controlled clock, returns that never downgrade at once, concurrent postings, an
interrupted re-evaluation, the append-only ledger and the system tag that follows the
tier."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import DatabaseError, connection, transaction

from loyalty.services.intake import record_return, record_sale, register_member
from members.models import MemberTag, TagChange
from members.services.members import MemberInput
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.models import PointsAccount
from tests.races import run_at_once
from tiers.models import GrowthAccount, GrowthEntry, GrowthKind, Tier, TierChange
from tiers.services import ladder as tier_services
from tiers.services.growth import growth_add
from tiers.services.ladder import tier_reevaluate_due

D = Decimal
_mobiles = iter(range(10_000))


def register(now):
    return register_member(data=MemberInput(mobile=f"1390013{next(_mobiles):04d}"), now=now).member


def sell(store, member, now, order_no, amount, quantity=1):
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-A", quantity=quantity, gross_amount=D(amount)),),
    ), now=now).order


def account(member) -> GrowthAccount:
    return GrowthAccount.objects.select_related("tier").get(member=member)


def state(member) -> tuple[int, str | None]:
    a = account(member)
    return a.growth, a.tier.code if a.tier else None


def tier_tags(member) -> list[str]:
    return sorted(MemberTag.objects.filter(member=member, tag__code__startswith="tier-")
                  .values_list("tag__code", flat=True))


def changes(member) -> list[tuple[str | None, str | None, str]]:
    return [(c.from_tier.code if c.from_tier else None, c.to_tier.code if c.to_tier else None,
             c.reason)
            for c in TierChange.objects.filter(member_id=member.pk)
            .select_related("from_tier", "to_tier").order_by("id")]


def assert_tier(member, growth, code):
    assert state(member) == (growth, code)
    assert tier_tags(member) == [f"tier-{code}"]  # the system tag follows the tier


# --- the reference ladder, date by date ------------------------------------------------------


def test_the_reference_ladder_walked_date_by_date(store, now):
    member = register(now)
    assert_tier(member, 0, "registered")
    assert PointsAccount.objects.get(member=member).available == 100  # points unchanged

    day1 = now + timedelta(days=1)
    sell(store, member, day1, "S-1", "100.00")
    assert_tier(member, 100, "bronze")  # first purchase

    day2 = now + timedelta(days=2)
    growth_add(member_id=member.pk, points=1_899, source_key="g-1", reason="test", now=day2)
    assert_tier(member, 1_999, "bronze")
    growth_add(member_id=member.pk, points=1, source_key="g-2", reason="test", now=day2)
    assert_tier(member, 2_000, "silver")
    silver_end = day2 + relativedelta(months=12)
    assert account(member).tier_valid_until == silver_end

    # Silver's 12 months end with no new growth: reset to 0, back to Bronze.
    assert tier_reevaluate_due(now=silver_end - timedelta(seconds=1)) == 0
    assert_tier(member, 2_000, "silver")
    assert tier_reevaluate_due(now=silver_end + timedelta(hours=1)) == 1
    assert_tier(member, 0, "bronze")
    assert account(member).tier_valid_until is None  # Bronze is permanent
    expiry = GrowthEntry.objects.get(member_id=member.pk, kind=GrowthKind.EXPIRY_POLICY)
    assert expiry.delta == -2_000
    # the tag history of the swap carries the job's clock, not the database's
    silver_tag = Tier.objects.get(code="silver").tag_id
    assert list(TagChange.objects.filter(member_id=member.pk, tag_id=silver_tag)
                .order_by("id").values_list("action", "changed_at")) == [
        ("added", day2), ("removed", silver_end + timedelta(hours=1))]

    # Growth to 10,000 → Gold; at its end halved (5,000) and re-evaluated → Silver.
    t = silver_end + timedelta(days=10)
    growth_add(member_id=member.pk, points=10_000, source_key="g-3", reason="test", now=t)
    assert_tier(member, 10_000, "gold")
    gold_end = t + relativedelta(months=12)
    tier_reevaluate_due(now=gold_end)
    assert_tier(member, 5_000, "silver")
    assert account(member).tier_valid_until == gold_end + relativedelta(months=12)

    # Diamond at 30,000; 45,000 at its end → 1/3 deducted, 30,000 kept, renewed Diamond.
    t = gold_end + timedelta(days=1)
    growth_add(member_id=member.pk, points=25_000, source_key="g-4", reason="test", now=t)
    assert_tier(member, 30_000, "diamond")
    growth_add(member_id=member.pk, points=15_000, source_key="g-5", reason="test", now=t)
    diamond_end = t + relativedelta(months=12)
    tier_reevaluate_due(now=diamond_end)
    assert_tier(member, 30_000, "diamond")
    assert account(member).tier_valid_until == diamond_end + relativedelta(months=12)

    # Next period: 36,000 at its end → 24,000 kept → Gold.
    growth_add(member_id=member.pk, points=6_000, source_key="g-6", reason="test",
               now=diamond_end + timedelta(days=3))
    tier_reevaluate_due(now=diamond_end + relativedelta(months=12))
    assert_tier(member, 24_000, "gold")

    assert changes(member) == [
        (None, "registered", "initial"), ("registered", "bronze", "upgrade"),
        ("bronze", "silver", "upgrade"), ("silver", "bronze", "downgrade"),
        ("bronze", "gold", "upgrade"), ("gold", "silver", "downgrade"),
        ("silver", "diamond", "upgrade"), ("diamond", "diamond", "renewal"),
        ("diamond", "gold", "downgrade"),
    ]
    # the ledger explains the balance
    assert sum(GrowthEntry.objects.filter(member_id=member.pk)
               .values_list("delta", flat=True)) == 24_000


def test_a_return_below_the_threshold_does_not_downgrade_at_once(store, now):
    member = register(now)
    sale = sell(store, member, now, "S-1", "2200.00", quantity=2)  # growth 2,200 → Silver
    assert_tier(member, 2_200, "silver")

    record_return(ret=ReturnInput(store_code=store.code, order_no="R-1", sale_order_no="S-1",
                                  ordered_at=now + timedelta(hours=1),
                                  lines=(ReturnLineInput(1, 1),)), now=now + timedelta(hours=1))
    assert_tier(member, 1_100, "silver")  # below 2,000, still Silver
    record_return(ret=ReturnInput(store_code=store.code, order_no="R-2", sale_order_no="S-1",
                                  ordered_at=now + timedelta(hours=2),
                                  lines=(ReturnLineInput(1, 1),)), now=now + timedelta(hours=2))
    assert_tier(member, 0, "silver")  # the whole sale reversed, cumulatively
    reversed_ = GrowthEntry.objects.filter(member_id=member.pk, kind=GrowthKind.REVERSE)
    assert sorted(reversed_.values_list("delta", flat=True)) == [-1_100, -1_100]
    assert [c[2] for c in changes(member)] == ["initial", "upgrade"]

    # the downgrade waits for the end of the period
    tier_reevaluate_due(now=now + relativedelta(months=12))
    assert_tier(member, 0, "bronze")
    assert sale.pk  # the sale still counts as the first purchase


def test_keep_if_period_growth_and_keep_outright(store, now):
    silver = Tier.objects.get(code="silver")
    silver.end_policy, silver.keep_threshold = "keep_if_period_growth", 500
    silver.save()
    kept, missed = register(now), register(now)
    for m in (kept, missed):
        sell(store, m, now, f"S-{m.pk}", "2000.00")
    growth_add(member_id=kept.pk, points=600, source_key="k", reason="test",
               now=now + timedelta(days=1))
    growth_add(member_id=missed.pk, points=100, source_key="m", reason="test",
               now=now + timedelta(days=1))

    assert tier_reevaluate_due(now=now + relativedelta(months=12)) == 2
    assert_tier(kept, 2_600, "silver")
    assert changes(kept)[-1] == ("silver", "silver", "renewal")
    assert_tier(missed, 100, "bronze")  # only this period's growth still counts


def test_growth_replays_and_the_entry_tier(member, now):
    first = growth_add(member_id=member.pk, points=50, source_key="once", reason="x", now=now)
    again = growth_add(member_id=member.pk, points=50, source_key="once", reason="x", now=now)
    assert (first.created, again.created) == (True, False)
    assert again.entry.pk == first.entry.pk
    assert state(member) == (50, "registered")  # a member with no tier gets the entry tier


# --- the ledger is append-only ---------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE tiers_growthentry SET delta = delta + 1",
    "DELETE FROM tiers_growthentry",
    "UPDATE tiers_tierchange SET reason = 'upgrade'",
    "DELETE FROM tiers_tierchange",
])
def test_growth_entries_and_tier_changes_are_append_only(member, now, statement):
    growth_add(member_id=member.pk, points=2_000, source_key="g", reason="x", now=now)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert GrowthEntry.objects.count() == 1
    assert TierChange.objects.count() == 1


# --- concurrency and interruption ------------------------------------------------------------




@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_change_the_tier_once_per_real_change(now):
    member = register(now)
    n = 10

    results = run_at_once(lambda i: growth_add(member_id=member.pk, points=1_100,
                                               source_key=f"c-{i}", reason="x", now=now), n)

    assert [r for kind, r in results if kind == "error"] == []
    assert_tier(member, 11_000, "gold")
    assert changes(member) == [(None, "registered", "initial"),
                               ("registered", "silver", "upgrade"),
                               ("silver", "gold", "upgrade")]
    assert GrowthEntry.objects.filter(member_id=member.pk).count() == n


def _due_population(store, now):
    """Four members whose tiers end on the same day, each landing differently."""
    members = [register(now) for _ in range(4)]
    for m, extra in zip(members, (2_000, 10_000, 45_000, 36_000)):
        sell(store, m, now, f"S-{m.pk}", "1.00")
        growth_add(member_id=m.pk, points=extra - 1, source_key=f"p-{m.pk}", reason="x", now=now)
    return members


def _snapshot(members):
    return ([(state(m), account(m).tier_valid_until, tier_tags(m), changes(m)) for m in members],
            GrowthEntry.objects.filter(kind=GrowthKind.EXPIRY_POLICY).count())


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_reevaluation_run_again_gives_the_same_result(store, now, monkeypatch):
    members = _due_population(store, now)
    end = now + relativedelta(months=12)
    original = tier_services._reevaluate_chunk
    calls = []

    def crash_after_first_chunk(chunk_members, at):
        calls.append(chunk_members)
        if len(calls) == 2:  # the first chunk has committed; the second dies mid-way
            raise RuntimeError("worker killed")
        return original(chunk_members, at)

    monkeypatch.setattr(tier_services, "_reevaluate_chunk", crash_after_first_chunk)
    with pytest.raises(RuntimeError):
        tier_reevaluate_due(now=end, chunk=1)
    assert state(members[0]) == (0, "bronze")      # the first chunk committed
    assert state(members[1]) == (10_000, "gold")   # the rest still due
    monkeypatch.setattr(tier_services, "_reevaluate_chunk", original)

    assert tier_reevaluate_due(now=end, chunk=1) == 3  # only what was still due
    assert tier_reevaluate_due(now=end, chunk=1) == 0  # nothing twice
    interrupted = _snapshot(members)

    assert [state(m) for m in members] == [
        (0, "bronze"), (5_000, "silver"), (30_000, "diamond"), (24_000, "gold")]
    assert [changes(m)[-1][2] for m in members] == ["downgrade", "downgrade", "renewal",
                                                    "downgrade"]
    assert interrupted[1] == 4

    # the same population re-evaluated in one uninterrupted run lands identically
    others = _due_population(store, now)
    assert tier_reevaluate_due(now=end, chunk=1000) == 4
    one_run = _snapshot(others)
    strip = [(s, until, tags, [c for c in ch]) for s, until, tags, ch in one_run[0]]
    assert strip == interrupted[0]
