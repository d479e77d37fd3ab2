"""Earning rules: what an operator writes in the admin to pay points for events.

A rule is stored as immutable versions: editing a rule writes a new version and retires
the old one, so every award keeps pointing at the exact version that produced it and an
old entry's explanation stays true. Caps and budgets belong to the rule itself (all its
versions), identified by `rule_key`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import OneLineField
from core.formats import number
from members.models import ActivityKind, Member


class RuleEvent(models.TextChoices):
    SALE = "sale", _("Sale")
    REGISTRATION = ActivityKind.REGISTRATION.value, ActivityKind.REGISTRATION.label
    FOLLOWED_ACCOUNT = ActivityKind.FOLLOWED_ACCOUNT.value, ActivityKind.FOLLOWED_ACCOUNT.label
    CHECKIN = ActivityKind.CHECKIN.value, ActivityKind.CHECKIN.label
    PROFILE_COMPLETED = ActivityKind.PROFILE_COMPLETED.value, ActivityKind.PROFILE_COMPLETED.label
    PHONE_BOUND = ActivityKind.PHONE_BOUND.value, ActivityKind.PHONE_BOUND.label
    STORE_FAVOURITED = ActivityKind.STORE_FAVOURITED.value, ActivityKind.STORE_FAVOURITED.label
    REVIEW = ActivityKind.REVIEW.value, ActivityKind.REVIEW.label
    SHARE = ActivityKind.SHARE.value, ActivityKind.SHARE.label
    REFERRAL_CONVERTED = (ActivityKind.REFERRAL_CONVERTED.value,
                          ActivityKind.REFERRAL_CONVERTED.label)
    CUSTOM = ActivityKind.CUSTOM.value, ActivityKind.CUSTOM.label
    # engagement (campaigns: check-in streaks, tasks)
    CHECKIN_STREAK = "checkin_streak", _("Check-in streak reached")
    TASK_COMPLETED = "task_completed", _("Task completed")


class Formula(models.TextChoices):
    FIXED = "fixed", _("Fixed points")
    PER_YUAN = "per_yuan", _("Points per yuan of net paid")
    MULTIPLIER = "multiplier", _("Multiplier on matching lines")


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    HALF_UP = "half_up", _("Round half up")
    UP = "up", _("Round up")


class Beneficiary(models.TextChoices):
    MEMBER = "member", _("The member")
    REFERRER = "referrer", _("The referrer")
    BOTH = "both", _("Both")


class CapPeriod(models.TextChoices):
    DAY = "day", _("per day")
    WEEK = "week", _("per week")
    MONTH = "month", _("per month")
    YEAR = "year", _("per year")
    LIFETIME = "lifetime", _("lifetime")


class EarningRule(models.Model):
    """One version of an earning rule. Rows are never edited once awards point at them."""

    rule_key = models.SlugField(_("rule code"), max_length=64,
                                help_text=_("Stays the same across versions; caps and budgets "
                                            "count per rule code."))
    version = models.PositiveIntegerField(_("version"), default=1)
    is_current = models.BooleanField(_("current version"), default=True)
    name = OneLineField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    event = models.CharField(_("event"), max_length=24, choices=RuleEvent.choices)
    custom_event = OneLineField(_("custom event name"), max_length=64, blank=True,
                                help_text=_("Custom events: the event's name. Task "
                                            "completed: the task's code."))
    streak_day = models.PositiveSmallIntegerField(
        _("streak day"), null=True, blank=True,
        help_text=_("Check-in streak reached: the day of the streak (within its cycle) this "
                    "rule pays on, e.g. 3 or 7."))
    beneficiary = models.CharField(_("who is rewarded"), max_length=8,
                                   choices=Beneficiary.choices, default=Beneficiary.MEMBER)
    priority = models.IntegerField(_("priority"), default=100,
                                   help_text=_("Lower numbers run first."))
    stop_further = models.BooleanField(_("stop later rules"), default=False,
                                       help_text=_("When this rule applies, rules with a "
                                                   "higher priority number are not evaluated."))
    # formula
    formula = models.CharField(_("formula"), max_length=12, choices=Formula.choices)
    fixed_points = models.PositiveIntegerField(_("fixed points"), default=0)
    points_per_yuan = models.DecimalField(_("points per yuan"), max_digits=8, decimal_places=2,
                                          default=0)
    rounding = models.CharField(_("rounding"), max_length=8, choices=Rounding.choices,
                                default=Rounding.DOWN)
    multiplier = models.DecimalField(_("multiplier"), max_digits=6, decimal_places=2, default=1)
    # conditions and scope
    store_codes = ArrayField(models.CharField(max_length=32), verbose_name=_("stores"),
                             default=list, blank=True,
                             help_text=_("Store codes, comma-separated; empty means all."))
    categories = ArrayField(OneLineField(max_length=64), verbose_name=_("categories"),
                            default=list, blank=True)
    skus = ArrayField(OneLineField(max_length=64), verbose_name=_("SKUs"), default=list,
                      blank=True)
    exclude_categories = ArrayField(OneLineField(max_length=64),
                                    verbose_name=_("excluded categories"), default=list,
                                    blank=True)
    exclude_skus = ArrayField(OneLineField(max_length=64), verbose_name=_("excluded SKUs"),
                              default=list, blank=True)
    tag_ids = ArrayField(models.BigIntegerField(), verbose_name=_("member tags"), default=list,
                         blank=True, help_text=_("The member needs at least one of these tags "
                                                 "(tiers are tags too)."))
    min_order_amount = models.DecimalField(_("minimum order amount"), max_digits=12,
                                           decimal_places=2, null=True, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    weekdays = ArrayField(models.PositiveSmallIntegerField(), verbose_name=_("days of the week"),
                          default=list, blank=True,
                          help_text=_("1 = Monday … 7 = Sunday (Beijing time); empty means "
                                      "every day."))
    month_days = ArrayField(models.PositiveSmallIntegerField(),
                            verbose_name=_("days of the month"), default=list, blank=True,
                            help_text=_("e.g. 8 for a member day on the 8th; empty means every "
                                        "day."))
    member_statuses = ArrayField(models.CharField(max_length=8, choices=Member.Status.choices),
                                 verbose_name=_("member statuses"), default=list, blank=True,
                                 help_text=_("Empty means active members (frozen members never "
                                             "earn)."))
    # caps and budget
    cap_period = models.CharField(_("cap period"), max_length=8, choices=CapPeriod.choices,
                                  blank=True)
    cap_times = models.PositiveIntegerField(_("at most times"), null=True, blank=True)
    cap_points = models.PositiveIntegerField(_("at most points"), null=True, blank=True)
    budget_points = models.PositiveBigIntegerField(_("total budget (points)"), null=True,
                                                   blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("created by"))

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["priority", "rule_key"]
        constraints = [
            models.UniqueConstraint(fields=["rule_key", "version"], name="earning_rule_version"),
            models.UniqueConstraint(fields=["rule_key"], condition=Q(is_current=True),
                                    name="earning_rule_one_current_version"),
            models.CheckConstraint(condition=~Q(event="custom") | ~Q(custom_event=""),
                                   name="earning_rule_custom_has_name"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="earning_rule_multiplier_positive"),
            models.CheckConstraint(condition=~Q(event="checkin_streak")
                                   | Q(streak_day__gt=0),
                                   name="earning_rule_streak_has_day"),
            models.CheckConstraint(condition=~Q(event="task_completed") | ~Q(custom_event=""),
                                   name="earning_rule_task_has_code"),
            models.CheckConstraint(condition=Q(cap_period="") | Q(cap_times__isnull=False)
                                   | Q(cap_points__isnull=False),
                                   name="earning_rule_cap_has_limit"),
        ]
        indexes = [models.Index(fields=["event", "is_current", "is_active"],
                                name="earning_rule_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class RuleBudget(models.Model):
    """A rule's total budget, split into shards so that concurrent earnings under one rule
    reserve from different rows instead of queueing on one. Σ spent ≤ Σ allotted always."""

    rule_key = models.SlugField(max_length=64)
    shard = models.PositiveSmallIntegerField()
    allotted = models.BigIntegerField()
    spent = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("rule budget shard")
        verbose_name_plural = _("rule budget shards")
        constraints = [
            models.UniqueConstraint(fields=["rule_key", "shard"], name="rule_budget_shard"),
            models.CheckConstraint(condition=Q(spent__gte=0) & Q(spent__lte=models.F("allotted")),
                                   name="rule_budget_never_overspent"),
        ]


class RuleAward(models.Model):
    """Why an entry has its points: one row per rule version that contributed."""

    entry = models.ForeignKey("points.PointsEntry", models.PROTECT, related_name="awards",
                              verbose_name=pgettext_lazy("ledger entry", "entry"))
    rule = models.ForeignKey(EarningRule, models.PROTECT, related_name="awards",
                             verbose_name=_("rule version"))
    rule_key = models.SlugField(max_length=64)
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False)
    points = models.BigIntegerField(_("points"))
    detail = models.CharField(_("how"), max_length=200, blank=True)
    local_date = models.DateField(_("day (Beijing time)"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("rule award")
        verbose_name_plural = _("rule awards")
        indexes = [
            # caps: "times and points of this rule for this member since …"
            models.Index(fields=["member", "rule_key", "local_date"], name="rule_award_cap_idx"),
        ]

    def __str__(self) -> str:
        return str(_("%(rule)s: %(points)s points") % {"rule": self.rule,
                                                       "points": number(self.points)})


class EntryLine(models.Model):
    """The points an earning gave each order line, so a return reverses exactly what the
    returned lines earned."""

    entry = models.ForeignKey("points.PointsEntry", models.PROTECT, related_name="lines")
    order_line = models.ForeignKey("members.OrderLine", models.PROTECT, related_name="+")
    points = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "order_line"],
                                               name="entry_line_once")]
        indexes = [models.Index(fields=["order_line"], name="entry_line_order_line_idx")]

    def __str__(self) -> str:
        return str(_("%(line)s: %(points)s points") % {"line": self.order_line,
                                                       "points": number(self.points)})
