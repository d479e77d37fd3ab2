"""Stored value's invariants checked against the database: balances equal the sums of the
ledger, each bonus lot the sum of its movements, the member's bonus the sum of their lots."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from points.models import (
    StoredValueAccount,
    StoredValueBonusLot,
    StoredValueBonusMovement,
    StoredValueEntry,
)

ZERO = Decimal("0.00")


def sv_balances(member_id: int) -> tuple[Decimal, Decimal]:
    account = StoredValueAccount.objects.filter(member_id=member_id).first()
    return (account.principal, account.bonus) if account else (ZERO, ZERO)


def assert_stored_value_consistent(member_id: int) -> None:
    principal, bonus = sv_balances(member_id)
    sums = StoredValueEntry.objects.filter(member_id=member_id).aggregate(
        p=Sum("principal_delta"), b=Sum("bonus_delta"))
    assert (sums["p"] or ZERO) == principal
    assert (sums["b"] or ZERO) == bonus
    assert principal >= 0 and bonus >= 0
    lots = StoredValueBonusLot.objects.filter(member_id=member_id)
    assert (lots.aggregate(s=Sum("remaining"))["s"] or ZERO) == bonus
    for lot in lots:
        moved = (StoredValueBonusMovement.objects.filter(lot=lot)
                 .aggregate(s=Sum("amount"))["s"] or ZERO)
        assert moved == lot.remaining, lot
