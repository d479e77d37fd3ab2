"""Reads of the points ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import F, Min, QuerySet, Sum
from django.db.models.expressions import RawSQL

from core.admin import EXACT_COUNT_LIMIT
from core.clock import resolve_now

from .expiry import last_valid_date
from .models import (
    EarningRule,
    PointsAccount,
    PointsEntry,
    PointsHold,
    PointsLot,
    PointsSettings,
    RuleAward,
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
    days = PointsSettings.load().expiry_warning_days if within_days is None else within_days
    row = (PointsLot.objects
           .filter(member_id=member_id, state=PointsLot.State.AVAILABLE, remaining__gt=0,
                   expires_at__lte=now + timedelta(days=days))
           .aggregate(points=Sum("remaining"), first=Min("expires_at")))
    first = row["first"]
    return ExpiringSoon(points=row["points"] or 0,
                        date=last_valid_date(first) if first else None, within_days=days)


def hold_for(*, hold_id: int, owner_id: int | None = None) -> PointsHold | None:
    """A checkout hold, or None when there is none (or it belongs to another integrator)."""
    holds = PointsHold.objects.filter(pk=hold_id)
    if owner_id is not None:
        holds = holds.filter(owner_id=owner_id)
    return holds.first()


def earning_rule_versions(rule_key: str, *,
                          count_up_to: int = EXACT_COUNT_LIMIT) -> QuerySet[EarningRule]:
    """Every version of a rule, newest first, each with `award_count`: the awards it paid,
    counted exactly up to `count_up_to` and beyond that only known to be more (the count
    stops at count_up_to + 1), so a rule that paid millions of awards costs no full count."""
    capped = RawSQL(
        f"SELECT count(*) FROM (SELECT 1 FROM {RuleAward._meta.db_table} award"
        f" WHERE award.rule_id = {EarningRule._meta.db_table}.id LIMIT %s) capped",
        (count_up_to + 1,))
    return (EarningRule.objects.filter(rule_key=rule_key).select_related("created_by")
            .annotate(award_count=capped).order_by("-version"))
