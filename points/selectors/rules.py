"""Reads of the earning rules: their versions and what each paid."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from core.admin import EXACT_COUNT_LIMIT

from ..models import (
    EarningRule,
    PointsEntry,
    RuleAward,
)


def awards_for_source(source_key: str):
    """The rule results an earlier earning recorded, for answering a replayed event."""
    from ..services.ledger import Movement
    from ..services.rules import EarnOutcome, Reason, RuleResult

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
