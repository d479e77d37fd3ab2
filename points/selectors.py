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
    """A member's history, newest first, each entry with the rule versions that paid it."""
    return (PointsEntry.objects.filter(member_id=member_id).order_by("-id")
            .prefetch_related("awards__rule"))


def lots_for(member_id: int) -> QuerySet[PointsLot]:
    return (PointsLot.objects.filter(member_id=member_id, remaining__gt=0)
            .order_by("state", F("expires_at").asc(nulls_last=True), "id"))


def awards_for_source(source_key: str):
    """The rule results an earlier earning recorded, for answering a replayed event."""
    from .rules import EarnOutcome, Reason, RuleResult
    from .services import Movement

    results, movements = [], {}
    for who in ("member", "referrer"):
        entry = PointsEntry.objects.filter(source_key=f"{source_key}:{who}").first()
        if entry is None:
            continue
        movements[entry.member_id] = Movement(entry=entry, created=False)
        for award in entry.awards.select_related("rule").order_by("id"):
            results.append(RuleResult(rule=award.rule, beneficiary_id=entry.member_id,
                                      points=award.points, reason=Reason.DUPLICATE,
                                      detail=award.detail))
    return EarnOutcome(results=results, movements=movements)
