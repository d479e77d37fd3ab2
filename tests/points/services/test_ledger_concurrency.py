"""The ledger under concurrent writers: real threads, each with its own database connection,
released together by a barrier. The account row lock serialises writers for one member, so
no balance is ever overdrawn and the ledger stays consistent."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User

from loyalty.services.intake import record_sale
from points.errors import PointsError
from points.models import EntryKind, PointsEntry, PointsLot
from points.services.ledger import (
    points_adjust,
    points_earn,
    points_expire_due,
    points_spend,
    points_unlock_due,
)
from tests.points.helpers import assert_ledger_consistent, balances, sale_input, set_points_settings
from tests.races import run_at_once


def code_of(result: object) -> str:
    return result.code.value if isinstance(result, PointsError) else repr(result)


@pytest.mark.django_db(transaction=True)
def test_fifty_spends_of_ten_from_a_hundred_exactly_ten_succeed(member, now):
    operator = User.objects.create(username="ops")
    points_adjust(member_id=member.pk, points=100, operator_id=operator.pk,
                  reason="starting balance", now=now)
    assert balances(member.pk)["available"] == 100

    results = run_at_once(
        lambda i: points_spend(member_id=member.pk, points=10, source_key=f"spend:{i}", now=now),
        n=50)

    succeeded = [r for kind, r in results if kind == "ok"]
    failed = [r for kind, r in results if kind == "error"]
    assert len(succeeded) == 10
    assert all(r.created for r in succeeded)
    assert Counter(code_of(e) for e in failed) == {"insufficient_points": 40}
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)
    spends = PointsEntry.objects.filter(member_id=member.pk, kind=EntryKind.SPEND)
    assert spends.count() == 10
    assert sum(e.available_delta for e in spends) == -100
    assert {e.source_key for e in spends} == {r.entry.source_key for r in succeeded}
    # Replaying the ledger in the order it was written, the balance never dips below zero.
    running = 0
    for entry in PointsEntry.objects.filter(member_id=member.pk).order_by("id"):
        running += entry.available_delta
        assert running >= 0
    assert running == 0
    assert PointsLot.objects.get(member_id=member.pk).remaining == 0


@pytest.mark.django_db(transaction=True)
def test_the_same_spend_from_many_threads_is_spent_once(member, now):
    operator = User.objects.create(username="ops")
    points_adjust(member_id=member.pk, points=100, operator_id=operator.pk, reason="start",
                  now=now)

    results = run_at_once(
        lambda i: points_spend(member_id=member.pk, points=30, source_key="redeem:1", now=now),
        n=20)

    assert [kind for kind, _ in results] == ["ok"] * 20
    assert Counter(r.created for _, r in results) == {True: 1, False: 19}
    assert len({r.entry.pk for _, r in results}) == 1
    assert balances(member.pk)["available"] == 70
    assert_ledger_consistent(member.pk)


@pytest.mark.django_db(transaction=True)
def test_concurrent_earnings_spends_and_jobs_leave_the_ledger_consistent(store, member, now):
    set_points_settings(pending_days=7, expiry_months=24, points_per_yuan=1)
    operator = User.objects.create(username="ops")
    # Due to expire now: 100 points earned 24 months ago. Due to unlock now: a sale of ¥60
    # 7 days ago. Available and not due: 200 points from last month.
    old = points_earn(member_id=member.pk, points=100, pending_days=0,
                      now=now - relativedelta(months=24)).entry.lot
    pending = record_sale(sale=sale_input(store, member.pk, now - timedelta(days=7), "S-0",
                                          "60.00"), now=now - timedelta(days=7)).points.entry.lot
    recent = points_adjust(member_id=member.pk, points=200, operator_id=operator.pk,
                           reason="start", now=now - relativedelta(months=1)).entry.lot
    start = balances(member.pk)
    assert start == {"available": 300, "pending": 60, "held": 0, "debt": 0}

    jobs = (
        [("earn", 25)] * 6            # instant earnings of 25
        + [("sale", 40)] * 4          # sales: 40 pending each
        + [("spend", 45)] * 10        # 450 wanted, never more than there is
        + [("adjust", -15)] * 2
        + [("expire", None)] * 3
        + [("unlock", None)] * 3
    )

    def work(i: int):
        kind, points = jobs[i]
        if kind == "earn":
            return points_earn(member_id=member.pk, points=points, pending_days=0,
                               source_key=f"bonus:{i}", now=now)
        if kind == "sale":
            return record_sale(sale=sale_input(store, member.pk, now, f"S-{i}", f"{points}.00"),
                               now=now)
        if kind == "spend":
            return points_spend(member_id=member.pk, points=points, now=now)
        if kind == "adjust":
            return points_adjust(member_id=member.pk, points=points, operator_id=operator.pk,
                                 reason="correction", now=now)
        if kind == "expire":
            return points_expire_due(now=now)
        return points_unlock_due(now=now)

    results = run_at_once(work, n=len(jobs))

    errors = [(jobs[i][0], r) for i, (kind, r) in enumerate(results) if kind == "error"]
    assert all(code_of(e) == "insufficient_points" and job in ("spend", "adjust")
               for job, e in errors), errors
    ok = Counter(jobs[i][0] for i, (kind, _) in enumerate(results) if kind == "ok")
    assert ok["earn"] == 6 and ok["sale"] == 4 and ok["expire"] == 3 and ok["unlock"] == 3

    final = assert_ledger_consistent(member.pk)
    by_kind = {k: PointsEntry.objects.filter(member_id=member.pk, kind=k)
               for k in EntryKind.values}
    # Each due lot expired or unlocked exactly once, however many jobs ran.
    assert [e.lot_id for e in by_kind["unlock"]] == [pending.pk]
    assert [e.lot_id for e in by_kind["expire"]] in ([], [old.pk])
    assert PointsLot.objects.get(pk=old.pk).remaining == 0  # spent first, or expired
    assert PointsLot.objects.get(pk=pending.pk).state == PointsLot.State.AVAILABLE
    assert by_kind["earn"].count() == 1 + 6 + 4 + 1  # old, bonuses, sales, S-0
    assert by_kind["spend"].count() == ok["spend"]
    assert by_kind["adjust"].count() == 1 + ok["adjust"]
    # The balances are what the successful operations add up to.
    spent = 45 * ok["spend"] + 15 * ok["adjust"]
    expired = -sum(e.available_delta for e in by_kind["expire"])
    assert final["available"] == 300 + 6 * 25 + 60 - spent - expired
    assert final["pending"] == 4 * 40
    assert final["debt"] == 0
    assert spent + expired <= 300 + 6 * 25 + 60
    assert PointsLot.objects.get(pk=recent.pk).remaining <= 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_writes_for_a_new_member_create_one_account(make_member, now):
    member = make_member()

    results = run_at_once(
        lambda i: points_earn(member_id=member.pk, points=10, pending_days=0, now=now), n=20)

    assert [kind for kind, _ in results] == ["ok"] * 20
    assert assert_ledger_consistent(member.pk)["available"] == 200
    assert PointsLot.objects.filter(member_id=member.pk).count() == 20


@pytest.mark.django_db(transaction=True)
def test_spends_across_members_with_expiry_jobs_do_not_deadlock(make_member, now):
    """Jobs lock many accounts (in id order) while spends lock one: no deadlock, no lost
    update."""
    set_points_settings(expiry_months=1)
    operator = User.objects.create(username="ops")
    members = [make_member() for _ in range(5)]
    for m in members:
        points_adjust(member_id=m.pk, points=50, operator_id=operator.pk, reason="old",
                      now=now - relativedelta(months=2))
        points_adjust(member_id=m.pk, points=100, operator_id=operator.pk, reason="new",
                      now=now)

    def work(i: int):
        if i % 6 == 5:
            return points_expire_due(now=now, chunk=2)
        return points_spend(member_id=members[i % 5].pk, points=20, now=now)

    results = run_at_once(work, n=30)

    assert [r for kind, r in results if kind == "error"] == []
    for m in members:
        final = assert_ledger_consistent(m.pk)
        spent = -sum(e.available_delta for e in PointsEntry.objects.filter(
            member_id=m.pk, kind=EntryKind.SPEND))
        expired = -sum(e.available_delta for e in PointsEntry.objects.filter(
            member_id=m.pk, kind=EntryKind.EXPIRE))
        assert spent == 100  # 25 spending threads, five for each member, 20 each
        # the old lot (50, due) went to spends made before the job, the rest expired
        assert 0 <= expired <= 50
        assert PointsEntry.objects.filter(member_id=m.pk, kind=EntryKind.EXPIRE).count() <= 1
        assert final["available"] == 150 - spent - expired
