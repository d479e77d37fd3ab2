"""The earning rules under real concurrency (PostgreSQL, real threads released together by a
barrier, each closing its own connection): a budget is never overspent and never hands out
less than it holds, budget locks do not hold up earnings under other rules, and a member's
cap holds when one member's events race each other."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from loyalty.services.intake import record_activity, record_sale
from members.services.activity import ActivityInput
from members.services.orders import LineInput, SaleInput
from points.models import PointsAccount, PointsEntry
from points.models.rules import EarningRule, RuleAward, RuleBudget
from points.services.rule_versions import earning_rule_save
from points.services.rules import BUDGET_SHARDS, Reason
from tests.points.helpers import assert_ledgers_consistent, set_points_settings
from tests.races import run_at_once

D = Decimal




def only_rule(now, key: str, **fields) -> EarningRule:
    """Switch the default rules off and save this one (budgets get their shards)."""
    EarningRule.objects.update(is_active=False)
    fields.setdefault("name", key)
    return earning_rule_save(rule=EarningRule(rule_key=key, **fields), user_id=None, now=now)


def flash(member_id: int, n: int, now, name: str = "flash") -> ActivityInput:
    return ActivityInput(member_id=member_id, kind="custom", name=name,
                         source_key=f"{name}-{member_id}-{n}", occurred_at=now)


def blocked() -> list[tuple]:
    """What the waiting sessions of this database wait on (for a failure message)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, pg_blocking_pids(pid), wait_event_type, left(query, 160) "
                       "FROM pg_stat_activity WHERE datname = current_database() "
                       "AND cardinality(pg_blocking_pids(pid)) > 0")
        return cursor.fetchall()


def budget_totals(rule_key: str) -> tuple[int, int]:
    row = RuleBudget.objects.filter(rule_key=rule_key).aggregate(a=Sum("allotted"), s=Sum("spent"))
    return row["a"], row["s"]


@pytest.mark.django_db(transaction=True)
def test_a_budget_for_ten_earnings_pays_exactly_ten_of_thirty(make_member, now):
    only_rule(now, "flash", event="custom", custom_event="flash", formula="fixed",
              fixed_points=100, budget_points=1000)
    assert RuleBudget.objects.filter(rule_key="flash").count() == BUDGET_SHARDS
    members = [make_member() for _ in range(30)]

    results = run_at_once(
        lambda i: record_activity(data=flash(members[i].pk, i, now), now=now), n=30)

    errors = [r for kind, r in results if kind == "error"]
    assert errors == []
    reasons = Counter((r.earned.results[0].reason, r.earned.results[0].points)
                      for _, r in results)
    assert reasons == {(Reason.AWARDED, 100): 10, (Reason.BUDGET_SPENT, 0): 20}
    allotted, spent = budget_totals("flash")
    assert spent == 1000 <= allotted == 1000
    assert PointsAccount.objects.aggregate(s=Sum("available"))["s"] == 1000
    assert PointsEntry.objects.count() == RuleAward.objects.count() == 10
    assert_ledgers_consistent([m.pk for m in members])


@pytest.mark.django_db(transaction=True)
def test_budget_locks_do_not_hold_up_a_sale_under_another_rule(store, make_member, now):
    set_points_settings(pending_days=0)
    # The purchase rule (1 point per yuan, no budget) stays on; the budgeted rule is split
    # into 8 shards of 125, so an award of 500 has to lock every shard to draw them jointly.
    earning_rule_save(rule=EarningRule(rule_key="big-flash", name="big flash", event="custom",
                                       custom_event="flash", formula="fixed", fixed_points=500,
                                       budget_points=1000), user_id=None, now=now)
    holder, shopper = make_member(), make_member()
    reserved, release = threading.Event(), threading.Event()
    holder_result: list[object] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                outcome = record_activity(data=flash(holder.pk, 0, now), now=now)
                holder_result.append(outcome.earned.results[0].reason)
                reserved.set()
                release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001
            holder_result.append(exc)
            reserved.set()
        finally:
            connection.close()

    sale_result: list[object] = []

    def sell() -> None:
        try:
            started = time.monotonic()
            outcome = record_sale(sale=SaleInput(
                store_code=store.code, order_no="S-1", member_id=shopper.pk, ordered_at=now,
                lines=(LineInput(line_no=1, sku="TEA-01", quantity=1,
                                 gross_amount=D("68.00")),)), now=now)
            sale_result.append((outcome, time.monotonic() - started))
        except Exception as exc:  # noqa: BLE001
            sale_result.append(exc)
        finally:
            connection.close()

    holding = threading.Thread(target=hold)
    holding.start()
    try:
        assert reserved.wait(timeout=30)
        assert holder_result == [Reason.AWARDED]
        # every shard of the budget is locked by the open transaction
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM (SELECT id FROM points_rulebudget "
                           "WHERE rule_key = 'big-flash' FOR UPDATE SKIP LOCKED) free")
            assert cursor.fetchone()[0] == 0
        selling = threading.Thread(target=sell)
        selling.start()
        selling.join(timeout=5)
        assert not selling.is_alive(), f"the sale waited on the holder: {blocked()}"
    finally:
        release.set()
        holding.join(timeout=30)
    selling.join(timeout=30)

    (outcome, seconds), = sale_result
    assert seconds < 5
    assert outcome.points.entry.available_delta == 68
    assert [(r.rule.rule_key, r.points, r.reason) for r in outcome.rules] == [
        ("purchase", 68, Reason.AWARDED)]
    assert budget_totals("big-flash") == (1000, 500)
    assert_ledgers_consistent([holder.pk, shopper.pk])


@pytest.mark.django_db(transaction=True)
def test_one_members_racing_events_respect_a_daily_cap_of_one(member, now):
    only_rule(now, "flash", event="custom", custom_event="flash", formula="fixed",
              fixed_points=30, cap_period="day", cap_times=1)

    results = run_at_once(
        lambda i: record_activity(data=flash(member.pk, i, now + timedelta(seconds=i)), now=now),
        n=12)

    assert [kind for kind, _ in results] == ["ok"] * 12
    reasons = Counter(r.earned.results[0].reason for _, r in results)
    assert reasons == {Reason.AWARDED: 1, Reason.CAP_REACHED: 11}
    assert RuleAward.objects.filter(member=member).count() == 1
    assert assert_ledgers_consistent([member.pk])[member.pk]["available"] == 30


@pytest.mark.django_db(transaction=True)
def test_one_members_racing_events_respect_a_points_cap(member, now):
    only_rule(now, "flash", event="custom", custom_event="flash", formula="fixed",
              fixed_points=40, cap_period="day", cap_points=100)

    results = run_at_once(
        lambda i: record_activity(data=flash(member.pk, i, now), now=now), n=8)

    assert [kind for kind, _ in results] == ["ok"] * 8
    reasons = Counter((r.earned.results[0].reason, r.earned.results[0].points)
                      for _, r in results)
    assert reasons == {(Reason.AWARDED, 40): 2, (Reason.CAPPED, 20): 1,
                       (Reason.CAP_REACHED, 0): 5}
    assert assert_ledgers_consistent([member.pk])[member.pk]["available"] == 100
