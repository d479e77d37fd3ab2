"""Saving earning rules: every edit is a new version, so old explanations stay true."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.clock import resolve_now

from ..models.rules import EarningRule, Formula, RuleEvent
from .rules import budget_setup

VERSIONED_FIELDS = [f.name for f in EarningRule._meta.get_fields()
                    if getattr(f, "concrete", False) and f.name not in {
                        "id", "rule_key", "version", "is_current", "created_at", "created_by"}]


@dataclass(frozen=True)
class RuleProblem:
    field: str | None
    message: str


def earning_rule_problems(rule: EarningRule) -> list[RuleProblem]:
    """What is wrong with a rule before it is saved, in words an operator understands."""
    problems = []

    def bad(field, message):
        problems.append(RuleProblem(field, str(message)))

    if rule.formula == Formula.FIXED and rule.fixed_points <= 0:
        bad("fixed_points", _("A fixed-points rule needs a number of points."))
    if rule.formula == Formula.PER_YUAN and rule.points_per_yuan <= 0:
        bad("points_per_yuan", _("A per-yuan rule needs a rate above 0."))
    if rule.formula in (Formula.PER_YUAN, Formula.MULTIPLIER) and rule.event != RuleEvent.SALE:
        bad("formula", _("Per-yuan rules and multipliers apply to sales only."))
    if rule.formula == Formula.MULTIPLIER and rule.multiplier <= 1:
        bad("multiplier", _("A multiplier must be above 1 (e.g. 2 for double points)."))
    if rule.event == RuleEvent.CUSTOM and not rule.custom_event.strip():
        bad("custom_event", _("Name the custom event this rule answers."))
    if rule.event == RuleEvent.TASK_COMPLETED and not rule.custom_event.strip():
        bad("custom_event", _("Name the task (its code) this rule pays for."))
    if rule.event == RuleEvent.CHECKIN_STREAK and not rule.streak_day:
        bad("streak_day", _("Give the day of the streak this rule pays on."))
    if rule.event != RuleEvent.CHECKIN_STREAK and rule.streak_day is not None:
        bad("streak_day", _("Only a check-in streak rule has a streak day."))
    if rule.cap_period and rule.cap_times is None and rule.cap_points is None:
        bad("cap_period", _("A cap needs a number of times or of points."))
    if (rule.cap_times is not None or rule.cap_points is not None) and not rule.cap_period:
        bad("cap_period", _("Choose the period the cap counts over."))
    if rule.valid_from and rule.valid_until and rule.valid_from >= rule.valid_until:
        bad("valid_until", _("The end must come after the start."))
    if any(not 1 <= d <= 7 for d in rule.weekdays):
        bad("weekdays", _("Days of the week are 1 (Monday) to 7 (Sunday)."))
    if any(not 1 <= d <= 31 for d in rule.month_days):
        bad("month_days", _("Days of the month are 1 to 31."))
    return problems


def earning_rule_save(*, rule: EarningRule, user_id: int | None,
                      now: datetime | None = None) -> EarningRule:
    """Store a new rule, or a new version of an existing one (the old version is retired,
    not changed). Saving without a change keeps the current version."""
    now = resolve_now(now)
    if earning_rule_problems(rule):
        raise ValueError("invalid rule")  # callers check earning_rule_problems first
    with transaction.atomic():
        if rule.pk is None:
            rule.version, rule.is_current = 1, True
            rule.created_at, rule.created_by_id = now, user_id
            rule.save(force_insert=True)
        else:
            old = EarningRule.objects.select_for_update().get(pk=rule.pk)
            if not old.is_current:  # edited meanwhile: saving would undo the newer version
                raise ValueError("only the current version of a rule can be edited")
            if all(getattr(old, f) == getattr(rule, f) for f in VERSIONED_FIELDS):
                return old
            latest = (EarningRule.objects.filter(rule_key=old.rule_key)
                      .order_by("-version").values_list("version", flat=True).first())
            EarningRule.objects.filter(rule_key=old.rule_key, is_current=True).update(is_current=False)
            rule.pk = None
            rule.rule_key, rule.version, rule.is_current = old.rule_key, latest + 1, True
            rule.created_at, rule.created_by_id = now, user_id
            rule.save(force_insert=True)
        if rule.budget_points is not None:
            budget_setup(rule_key=rule.rule_key, total=rule.budget_points)
    return rule
