"""Reads of the points ledger."""

from __future__ import annotations

from django.db.models import F, QuerySet

from .models import PointsAccount, PointsEntry, PointsLot


def entry_for_order(*, order_id: int, kind: str) -> PointsEntry | None:
    return PointsEntry.objects.filter(order_id=order_id, kind=kind).first()


def account_for(member_id: int) -> PointsAccount:
    """The member's balances; a member who never had points has an all-zero account."""
    account = PointsAccount.objects.filter(member_id=member_id).first()
    return account or PointsAccount(member_id=member_id)


def entries_for(member_id: int) -> QuerySet[PointsEntry]:
    return PointsEntry.objects.filter(member_id=member_id).order_by("-id")


def lots_for(member_id: int) -> QuerySet[PointsLot]:
    return (PointsLot.objects.filter(member_id=member_id, remaining__gt=0)
            .order_by("state", F("expires_at").asc(nulls_last=True), "id"))
