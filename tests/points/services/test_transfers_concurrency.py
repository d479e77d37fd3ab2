"""Transfers under 50 concurrent writers (real threads, each with its own connection): the
two accounts are locked in member-id order, so transfers in both directions never deadlock,
no balance is overdrawn, both ledgers stay equal to their entries and every lot to its
movements, and points keep their expiry dates wherever they go."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum

from points.errors import PointsError
from points.models import PointsLot, PointsLotMovement, PointsTransfer
from points.services.ledger import points_earn
from points.services.transfers import points_transfer
from tests.points.helpers import assert_ledger_consistent, balances, set_points_settings
from tests.races import run_at_once


def code_of(result: object) -> str:
    return result.code.value if isinstance(result, PointsError) else repr(result)


def points_by_expiry() -> dict:
    """Points still in lots, per expiry date, over every member."""
    return dict(PointsLot.objects.filter(remaining__gt=0).values("expires_at")
                .annotate(s=Sum("remaining")).values_list("expires_at", "s"))


@pytest.mark.django_db(transaction=True)
def test_fifty_transfers_among_five_members_in_both_directions(make_member, now):
    set_points_settings(expiry_policy="rolling", expiry_months=12, transfer_daily_limit=None)
    members = [make_member() for _ in range(5)]
    for i, member in enumerate(members):
        for j in range(4):  # lots of different ages: different expiry dates
            points_earn(member_id=member.pk, points=20 + 10 * j, pending_days=0,
                        now=now - timedelta(days=30 * (i + j)))
    total = sum(balances(m.pk)["available"] for m in members)
    before = points_by_expiry()
    rng = random.Random(25)
    plan = []
    for i in range(50):
        a, b = rng.sample(range(5), 2)
        plan.append((members[a].pk, members[b].pk, rng.randint(1, 60)))

    results = run_at_once(
        lambda i: points_transfer(sender_id=plan[i][0], receiver_id=plan[i][1],
                                  points=plan[i][2], key=f"race:{i}", now=now), n=50)

    ok = [r for kind, r in results if kind == "ok"]
    failed = Counter(code_of(r) for kind, r in results if kind == "error")
    assert set(failed) <= {"insufficient_points"}, failed
    assert len(ok) == PointsTransfer.objects.count() > 25
    for member in members:
        assert_ledger_consistent(member.pk)
    assert sum(balances(m.pk)["available"] for m in members) == total
    assert points_by_expiry() == before  # no point changed its expiry date
    for transfer in PointsTransfer.objects.select_related("out_entry", "in_entry"):
        out = PointsLotMovement.objects.filter(entry_id=transfer.out_entry_id)
        into = PointsLotMovement.objects.filter(entry_id=transfer.in_entry_id)
        assert out.aggregate(s=Sum("points"))["s"] == -transfer.points
        assert into.aggregate(s=Sum("points"))["s"] == transfer.points
        assert {m.lot.member_id for m in out} == {transfer.sender_id}
        for movement in into.select_related("lot__carried_from"):
            lot = movement.lot
            assert lot.member_id == transfer.receiver_id
            assert lot.expires_at == lot.carried_from.expires_at
            assert out.filter(lot_id=lot.carried_from_id, points=-lot.original).exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_transfer_from_fifty_threads_moves_once(make_member, now):
    sender, receiver = make_member(), make_member()
    points_earn(member_id=sender.pk, points=100, pending_days=0, now=now)

    results = run_at_once(
        lambda i: points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=30,
                                  key="gift", now=now), n=50)

    assert [kind for kind, _ in results] == ["ok"] * 50
    assert Counter(r.created for _, r in results) == {True: 1, False: 49}
    assert balances(sender.pk)["available"] == 70
    assert balances(receiver.pk)["available"] == 30
    assert_ledger_consistent(sender.pk)
    assert_ledger_consistent(receiver.pk)


@pytest.mark.django_db(transaction=True)
def test_fifty_racing_transfers_never_pass_the_daily_limit(make_member, now):
    set_points_settings(transfer_daily_limit=100)
    sender = make_member()
    receivers = [make_member() for _ in range(5)]
    points_earn(member_id=sender.pk, points=1000, pending_days=0, now=now)

    results = run_at_once(
        lambda i: points_transfer(sender_id=sender.pk, receiver_id=receivers[i % 5].pk,
                                  points=10, key=f"limit:{i}", now=now), n=50)

    assert Counter(kind for kind, _ in results) == {"ok": 10, "error": 40}
    assert {code_of(r) for kind, r in results if kind == "error"} == {"transfer_daily_limit"}
    assert balances(sender.pk)["available"] == 900
    assert sum(balances(r.pk)["available"] for r in receivers) == 100
    for member in (sender, *receivers):
        assert_ledger_consistent(member.pk)
