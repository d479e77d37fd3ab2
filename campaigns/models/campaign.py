"""A campaign (会员活动): who it reaches (a segment, minus exclusions, less a control group),
when (once, or on the Beijing calendar), what it does for each member (the actions of the
member's variant), and how much it may spend (its budget row).

Status: draft → scheduled → running ⇄ paused → ended / cancelled (campaigns.services.status
holds the transitions). Points and coupons given stay whatever the campaign becomes.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineTextField, OneLineField
from members.models import Segment, Store, Tag
from points.models import CouponTemplate

MONEY = {"max_digits": 12, "decimal_places": 2}


def new_seed() -> int:
    return secrets.randbelow(2**31)


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")
    CANCELLED = "cancelled", _("Cancelled")


class Grade(models.TextChoices):
    S = "S", _("S (big promotion)")
    A = "A", _("A (festival)")
    B = "B", _("B (everyday)")


class TriggerKind(models.TextChoices):
    """When a campaign acts. The calendar kinds start occasions on the Beijing calendar
    (campaigns.services.schedule); the event kinds are read from the commit-ordered feed
    or found by the daily scan (campaigns.selectors.triggers / trigger_scans), with their
    parameters in `Campaign.trigger_params`."""

    # calendar
    ONCE = "once", _("Once, at a time")
    DAILY = "daily", _("Every day")
    WEEKLY = "weekly", _("Every week")
    MONTHLY = "monthly", _("Every month")
    # events, from the feed
    REGISTRATION = "registration", _("Registration")
    FIRST_PURCHASE = "first_purchase", _("First purchase")
    PURCHASE = "purchase", _("A purchase matching conditions")
    TIER_CHANGE = "tier_change", _("Tier change")
    TAG_CHANGE = "tag_change", _("Tag added or removed")
    STREAK_REACHED = "streak_reached", _("Check-in streak reached")
    # events, from the daily scan
    LAPSE = "lapse", _("Days without a purchase")
    NEW_NO_PURCHASE = "new_no_purchase", _("Days after registration without a purchase")
    PAID_END = "paid_end", _("Paid membership end")
    POINTS_EXPIRING = "points_expiring", _("Points expiring")


CALENDAR_TRIGGERS = (TriggerKind.ONCE, TriggerKind.DAILY, TriggerKind.WEEKLY,
                     TriggerKind.MONTHLY)


class AudienceFilter(models.TextChoices):
    """Audiences the segment language cannot say, as named SQL conditions."""

    NONE = "", _("Only the segment")
    BIRTHDAY_MONTH = "birthday_month", _("Members whose birthday month starts today")
    PAID_ENDED = "paid_ended", _("Paid memberships that ended in the last N days")
    AT_RISK_OR_ONE_TIME = "at_risk_one_time", _("Members at risk and one-time buyers")


class Campaign(models.Model):
    code = models.SlugField(_("code"), max_length=48, unique=True,
                            help_text=_("Also names the campaign's system tag "
                                        "(campaign-<code>)."))
    name = OneLineField(_("name"), max_length=100)
    description = MultiLineTextField(_("description"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"))
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, default=Grade.B)
    is_template = models.BooleanField(
        _("template"), default=False,
        help_text=_("A play shipped with the product: copy it, then launch the copy."))
    template = models.ForeignKey("self", models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("copied from play"),
                                 editable=False,
                                 help_text=_("The play this campaign was copied from; "
                                             "forecasts learn from its past copies."))
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    seed = models.BigIntegerField(_("assignment seed"), default=new_seed,
                                  help_text=_("Control group and variants are a hash of this "
                                              "seed and the member id."))
    # trigger
    trigger = models.CharField(_("trigger"), max_length=16, choices=TriggerKind.choices,
                               default=TriggerKind.ONCE)
    trigger_params = models.JSONField(
        _("trigger settings"), default=dict, blank=True,
        help_text=_("Event triggers only, e.g. {\"days\": 7} or {\"direction\": \"up\"}."))
    run_at = models.DateTimeField(_("run at"), null=True, blank=True,
                                  help_text=_("One-off campaigns: when to act."))
    run_time = models.TimeField(_("time of day (Beijing)"), null=True, blank=True,
                                help_text=_("Recurring campaigns: the time each occasion "
                                            "starts; empty means 00:00."))
    weekdays = ArrayField(models.PositiveSmallIntegerField(), verbose_name=_("days of the week"),
                          default=list, blank=True,
                          help_text=_("Weekly: 1 = Monday … 7 = Sunday."))
    month_day = models.PositiveSmallIntegerField(
        _("day of the month"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("Monthly: a day the month lacks means its last day."))
    # audience
    segment = models.ForeignKey(Segment, models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("audience segment"),
                                help_text=_("Empty: every member who is not closed."))
    audience_filter = models.CharField(_("also require"), max_length=16, blank=True,
                                       choices=AudienceFilter.choices)
    audience_days = models.PositiveIntegerField(_("days (for the condition above)"),
                                                null=True, blank=True)
    exclude_segments = models.ManyToManyField(Segment, blank=True, related_name="+",
                                              verbose_name=_("excluded segments"))
    exclude_recent_days = models.PositiveIntegerField(
        _("leave out members acted on in the last N days"), null=True, blank=True,
        help_text=_("By any campaign; empty leaves no one out."))
    control_percent = models.PositiveSmallIntegerField(
        _("control group (%)"), default=0, validators=[MaxValueValidator(50)],
        help_text=_("This share of the audience is held out and never acted on."))
    per_member_limit = models.PositiveIntegerField(
        _("at most times per member"), null=True, blank=True,
        help_text=_("Across all occasions of the campaign; empty for no limit."))
    # budget (the spent side is CampaignBudget, updated under conditions)
    budget_points = models.PositiveBigIntegerField(_("budget (points)"), null=True, blank=True)
    budget_coupons = models.PositiveIntegerField(_("budget (coupons)"), null=True, blank=True)
    budget_cost = models.DecimalField(_("budget (¥)"), **MONEY, null=True, blank=True,
                                      help_text=_("Points at the programme's value per point "
                                                  "plus coupon face values, at issue."))
    earning_rule_key = models.SlugField(_("multiplier rule"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True)
                                   | Q(starts_at__lt=models.F("ends_at")),
                                   name="campaign_window_ordered"),
            models.CheckConstraint(condition=Q(control_percent__lte=50),
                                   name="campaign_control_at_most_half"),
        ]
        indexes = [models.Index(fields=["status"], name="campaign_status_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def tag_code(self) -> str:
        return f"campaign-{self.code}"

    @property
    def trigger_kind(self) -> str:
        return self.trigger

    @property
    def is_event_triggered(self) -> bool:
        return self.trigger not in CALENDAR_TRIGGERS

    def trigger_check(self) -> None:
        """An event trigger's settings as `trigger_spec` accepts them (TriggerError if
        not); a calendar trigger has none."""
        from campaigns.errors import TriggerError, TriggerErrorCode
        from campaigns.selectors.triggers import trigger_spec

        if self.is_event_triggered:
            trigger_spec(self.trigger, self.trigger_params)
        elif self.trigger_params:
            raise TriggerError(TriggerErrorCode.INVALID_TRIGGER,
                               reason=str(_("a calendar trigger takes no settings.")))

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from campaigns.errors import TriggerError

        super().clean()
        try:
            self.trigger_check()
        except TriggerError as exc:
            raise ValidationError({"trigger_params": exc.message}) from exc

    def save(self, *args, **kwargs) -> None:
        self.trigger_check()
        super().save(*args, **kwargs)


class CampaignVariant(models.Model):
    """An arm of an A/B/n test. Members outside the control group fall into the arms in
    proportion to their weights; a campaign without a test has one arm."""

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="variants",
                                 verbose_name=_("campaign"))
    code = OneLineField(_("arm"), max_length=8, default="A")
    name = OneLineField(_("name"), max_length=100, blank=True)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1,
                                              validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["campaign", "code"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "code"], name="campaign_variant_code"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="campaign_variant_weight"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class ActionKind(models.TextChoices):
    POINTS = "points", _("Bonus points")
    MULTIPLIER = "multiplier", _("Points multiplier window")
    COUPON = "coupon", _("Issue a coupon")
    GIFT = "gift", _("Gift to collect at a store")
    TAG_ADD = "tag_add", _("Add a tag")
    TAG_REMOVE = "tag_remove", _("Remove a tag")
    MESSAGE = "message", _("Message")


class CampaignAction(models.Model):
    variant = models.ForeignKey(CampaignVariant, models.CASCADE, related_name="actions",
                                verbose_name=_("variant"))
    kind = models.CharField(_("action"), max_length=10, choices=ActionKind.choices)
    points = models.PositiveIntegerField(_("points"), null=True, blank=True)
    multiplier = models.DecimalField(_("multiplier"), max_digits=6, decimal_places=2, null=True,
                                     blank=True)
    coupon_template = models.ForeignKey(CouponTemplate, models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("coupon template"))
    coupon_count = models.PositiveSmallIntegerField(_("coupons each"), default=1,
                                                    validators=[MinValueValidator(1),
                                                                MaxValueValidator(10)])
    coupon_percent_of_average = models.PositiveSmallIntegerField(
        _("face value: % of the member's average order"), null=True, blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Rounded to a whole yuan within the template's bounds; empty: the "
                    "template's amount."))
    gift_name = OneLineField(_("gift"), max_length=100, blank=True)
    gift_store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("collect at"),
                                   help_text=_("Empty: the member's home store."))
    gift_days = models.PositiveSmallIntegerField(_("collect within (days)"), null=True,
                                                 blank=True)
    gift_unit_cost = models.DecimalField(_("gift unit cost (¥)"), **MONEY, null=True,
                                         blank=True,
                                         help_text=_("What one gift handed over costs; results "
                                                     "count gifts without it at no cost."))
    tag = models.ForeignKey(Tag, models.PROTECT, null=True, blank=True, related_name="+",
                            verbose_name=_("tag"))
    message_template = models.ForeignKey("campaigns.MessageTemplate", models.PROTECT,
                                         null=True, blank=True, related_name="+",
                                         verbose_name=_("message template"))

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["variant", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="points") | Q(points__gt=0),
                                   name="campaign_action_points"),
            models.CheckConstraint(condition=~Q(kind="multiplier") | Q(multiplier__gt=1),
                                   name="campaign_action_multiplier"),
            models.CheckConstraint(condition=~Q(kind="coupon") | Q(coupon_template__isnull=False),
                                   name="campaign_action_coupon"),
            models.CheckConstraint(condition=~Q(kind="gift") | (~Q(gift_name="")
                                                                 & Q(gift_days__gt=0)),
                                   name="campaign_action_gift"),
            models.CheckConstraint(condition=~Q(kind__in=["tag_add", "tag_remove"])
                                   | Q(tag__isnull=False), name="campaign_action_tag"),
            models.CheckConstraint(condition=~Q(kind="message")
                                   | Q(message_template__isnull=False),
                                   name="campaign_action_message"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class CampaignBudget(models.Model):
    """What a campaign has committed: points, coupons and cost in CNY, counted when it acts.
    Raised only by a conditional UPDATE that keeps each below its budget (and the CHECKs
    refuse anything else), so concurrent workers never overspend."""

    campaign = models.OneToOneField(Campaign, models.CASCADE, primary_key=True,
                                    related_name="spent", verbose_name=_("campaign"))
    points = models.BigIntegerField(_("points committed"), default=0)
    coupons = models.BigIntegerField(_("coupons committed"), default=0)
    cost = models.DecimalField(_("cost committed (¥)"), **MONEY, default=0)
    points_limit = models.BigIntegerField(null=True)
    coupons_limit = models.BigIntegerField(null=True)
    cost_limit = models.DecimalField(**MONEY, null=True)
    exhausted_at = models.DateTimeField(_("budget spent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign budget")
        verbose_name_plural = _("campaign budgets")
        constraints = [
            models.CheckConstraint(
                condition=(Q(points_limit__isnull=True) | Q(points__lte=models.F("points_limit")))
                & (Q(coupons_limit__isnull=True) | Q(coupons__lte=models.F("coupons_limit")))
                & (Q(cost_limit__isnull=True) | Q(cost__lte=models.F("cost_limit"))),
                name="campaign_budget_never_overspent"),
        ]

    def __str__(self) -> str:
        return str(self.campaign)
