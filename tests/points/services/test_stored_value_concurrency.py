"""Stored value under concurrent writers: real threads, each with its own connection,
released together. The account row lock serialises them: nothing goes below zero and the
balances equal the sums of the ledger."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from points.errors import PointsError
from points.models import StoredValueEntry, StoredValueKind, TopUpBonusRule
from points.services.stored_value import stored_value_spend, stored_value_top_up
from tests.points.stored_value_helpers import assert_stored_value_consistent, sv_balances
from tests.races import run_at_once

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_fifty_racing_spends_never_go_below_zero(member, now):
    TopUpBonusRule.objects.create(name="充500送50", min_amount=D("500"), bonus=D("50"))
    stored_value_top_up(member_id=member.pk, amount="500", key="top", now=now)  # ¥550

    results = run_at_once(
        lambda i: stored_value_spend(member_id=member.pk, amount="30.00", key=f"spend:{i}",
                                     now=now), n=50)

    ok = [r for kind, r in results if kind == "ok"]
    failed = [r for kind, r in results if kind == "error"]
    assert len(ok) == 18  # 18 × 30 = 540 ≤ 550 < 19 × 30
    assert Counter(e.code.value for e in failed
                   if isinstance(e, PointsError)) == {"insufficient_stored_value": 32}
    assert sv_balances(member.pk) == (D("10.00"), D("0.00"))  # the bonus went first
    assert_stored_value_consistent(member.pk)
    running = D(0)
    for entry in StoredValueEntry.objects.filter(member_id=member.pk).order_by("id"):
        running += entry.principal_delta + entry.bonus_delta
        assert running >= 0
    assert StoredValueEntry.objects.filter(kind=StoredValueKind.SPEND).count() == 18


@pytest.mark.django_db(transaction=True)
def test_the_same_spend_from_many_threads_is_spent_once(member, now):
    stored_value_top_up(member_id=member.pk, amount="100", key="top", now=now)

    results = run_at_once(
        lambda i: stored_value_spend(member_id=member.pk, amount="40", key="once", now=now),
        n=20)

    assert [kind for kind, _ in results] == ["ok"] * 20
    assert Counter(r.created for _, r in results) == {True: 1, False: 19}
    assert sv_balances(member.pk) == (D("60.00"), D("0.00"))
    assert_stored_value_consistent(member.pk)
