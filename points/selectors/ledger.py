"""Reads of the points ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Min, QuerySet, Sum

from core.clock import resolve_now

from ..expiry import last_valid_date
from ..models import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsSettings,
)


def entry_for_order(*, order_id: int, kind: str) -> PointsEntry | None:
    return PointsEntry.objects.filter(order_id=order_id, kind=kind).first()


def account_for(member_id: int) -> PointsAccount:
    """The member's balances; a member who never had points has an all-zero account."""
    account = PointsAccount.objects.filter(member_id=member_id).first()
    return account or PointsAccount(member_id=member_id)


def entries_for(member_id: int) -> QuerySet[PointsEntry]:
    """A member's history, newest first, each entry with the rule versions that paid it."""
    return (PointsEntry.objects.filter(member_id=member_id).order_by("-id")
            .select_related("note").prefetch_related("awards__rule"))


@dataclass(frozen=True)
class ExpiringSoon:
    points: int                 # available points whose lots expire within the window
    date: date | None           # the soonest of their last valid days (Beijing time)
    within_days: int


def points_expiring_soon(*, member_id: int, now: datetime | None = None,
                         within_days: int | None = None) -> ExpiringSoon:
    """Available points that expire within the warning window (30 days by default; lots
    already due that the nightly job has not reached yet included), and the first day they
    run out. Held points are not counted: they come back to their lots
    only if the hold is released."""
    now = resolve_now(now)
    days = PointsSettings.current().expiry_warning_days if within_days is None else within_days
    row = (PointsLot.objects
           .filter(member_id=member_id, state=PointsLot.State.AVAILABLE, remaining__gt=0,
                   expires_at__lte=now + timedelta(days=days))
           .aggregate(points=Sum("remaining"), first=Min("expires_at")))
    first = row["first"]
    return ExpiringSoon(points=row["points"] or 0,
                        date=last_valid_date(first) if first else None, within_days=days)
