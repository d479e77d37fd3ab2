"""Reads of stored value: a member's balances and the bonus still to expire."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..models.stored_value import StoredValueAccount, StoredValueBonusLot

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StoredValueBalance:
    member_id: int
    principal: Decimal
    bonus: Decimal
    bonus_expiring: list[dict] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        return self.principal + self.bonus


def stored_value_for(member_id: int) -> StoredValueBalance:
    """The member's stored value, and their bonus per lot, soonest to expire first (lots
    that never expire last)."""
    account = StoredValueAccount.objects.filter(member_id=member_id).first()
    lots = (StoredValueBonusLot.objects.filter(member_id=member_id, remaining__gt=0)
            .order_by("expires_at", "id").values_list("remaining", "expires_at")[:50])
    return StoredValueBalance(
        member_id=member_id, principal=account.principal if account else ZERO,
        bonus=account.bonus if account else ZERO,
        bonus_expiring=[{"amount": str(amount), "expires_at": _iso(expires_at)}
                        for amount, expires_at in lots])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
