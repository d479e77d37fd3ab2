"""Tiers: the growth ledger (成长值), the ladder as data, and the record of tier changes.

A tier reaches the layers below only as data: each tier owns a system tag ("tier-<code>")
that follows the member's current tier, so segments and campaigns read tags, not tiers.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import ProgrammeSettings
from members.models import Member, Order, Tag
from points.reasons import reason_text


class Recalculation(models.TextChoices):
    OFF = "off", _("Off")
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


class TierSettings(ProgrammeSettings):
    growth_per_yuan = models.DecimalField(
        _("growth per yuan of net paid"), max_digits=8, decimal_places=2, default=Decimal(1),
        help_text=_("Growth earned per yuan a sale paid, rounded down."))
    registration_growth = models.PositiveIntegerField(_("growth for registration"), default=0)
    event_growth = models.JSONField(
        _("growth per interaction"), default=dict, blank=True,
        help_text=_('Growth per event kind, e.g. {"checkin": 1, "share": 5, "review": 10}.'))
    recalculation = models.CharField(
        _("periodic recalculation"), max_length=8, choices=Recalculation.choices,
        default=Recalculation.OFF)
    decay_grace_days = models.PositiveSmallIntegerField(
        _("days after a paid membership lapses before growth decays"), default=7)
    decay_per_day = models.PositiveIntegerField(
        _("growth lost per day of decay"), default=5,
        help_text=_("0 turns the decay off."))

    class Meta:
        verbose_name = _("tier settings")
        verbose_name_plural = _("tier settings")

    def growth_for_event(self, kind: str) -> int:
        if kind == "registration":
            return int(self.registration_growth)
        value = (self.event_growth or {}).get(kind, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class EndPolicy(models.TextChoices):
    RESET = "reset", _("Growth resets to 0")
    KEEP_PERCENT = "keep_percent", _("Keep a percentage of growth")
    DEDUCT_FRACTION = "deduct_fraction", _("Deduct a fraction of growth")
    KEEP_IF_PERIOD_GROWTH = "keep_if_period_growth", _("Keep the tier if the period's growth "
                                                       "reaches a threshold")
    KEEP = "keep", _("Keep the tier")


class Tier(models.Model):
    """One rung of the ladder. A member qualifies when every entry condition given holds;
    re-evaluation gives the highest-ranked active tier the member qualifies for."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = OneLineField(_("name"), max_length=64)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True,
                                            help_text=_("Higher ranks are better tiers."))
    min_growth = models.BigIntegerField(_("growth needed"), null=True, blank=True)
    requires_first_purchase = models.BooleanField(_("requires a first purchase"), default=False)
    on_registration = models.BooleanField(_("given on registration"), default=False)
    validity_months = models.PositiveSmallIntegerField(
        _("validity (months)"), null=True, blank=True, help_text=_("Empty means permanent."))
    end_policy = models.CharField(_("when validity ends"), max_length=24,
                                  choices=EndPolicy.choices, default=EndPolicy.KEEP)
    keep_percent = models.PositiveSmallIntegerField(_("percentage of growth kept"), null=True,
                                                    blank=True)
    deduct_numerator = models.PositiveIntegerField(_("fraction deducted: numerator"), null=True,
                                                   blank=True)
    deduct_denominator = models.PositiveIntegerField(_("fraction deducted: denominator"),
                                                     null=True, blank=True)
    keep_threshold = models.BigIntegerField(_("period growth that keeps the tier"), null=True,
                                            blank=True)
    tag = models.OneToOneField(Tag, models.PROTECT, related_name="tier", verbose_name=_("tag"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(end_policy="keep_percent")
                | Q(keep_percent__isnull=False, keep_percent__lte=100),
                name="tier_keep_percent_given"),
            models.CheckConstraint(
                condition=~Q(end_policy="deduct_fraction")
                | Q(deduct_numerator__isnull=False, deduct_denominator__gt=0,
                    deduct_numerator__lte=models.F("deduct_denominator")),
                name="tier_deduct_fraction_given"),
            models.CheckConstraint(
                condition=~Q(end_policy="keep_if_period_growth") | Q(keep_threshold__isnull=False),
                name="tier_keep_threshold_given"),
        ]

    def __str__(self) -> str:
        return self.name


class GrowthAccount(models.Model):
    member = models.OneToOneField(Member, models.PROTECT, primary_key=True,
                                  related_name="growth_account", verbose_name=_("member"))
    growth = models.BigIntegerField(_("growth"), default=0)
    tier = models.ForeignKey(Tier, models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("tier"))
    tier_since = models.DateTimeField(_("tier since"), null=True, blank=True)
    tier_valid_until = models.DateTimeField(_("tier valid until"), null=True, blank=True)
    period_growth = models.BigIntegerField(
        _("growth this period"), default=0,
        help_text=_("Growth earned since the current tier period began."))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("growth account")
        verbose_name_plural = _("growth accounts")
        constraints = [
            models.CheckConstraint(condition=Q(growth__gte=0), name="growth_not_negative"),
            models.CheckConstraint(condition=Q(period_growth__gte=0),
                                   name="period_growth_not_negative"),
        ]
        indexes = [
            models.Index(fields=["tier_valid_until", "member"], name="growth_due_idx",
                         condition=Q(tier_valid_until__isnull=False)),
        ]

    def __str__(self) -> str:
        return str(_("Growth of member #%(member)s: %(growth)s")
                   % {"member": self.member_id, "growth": self.growth})


class GrowthKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REVERSE = "reverse", _("Reversed")
    EXPIRY_POLICY = "expiry_policy", _("Tier period ended")
    ADJUST = "adjust", _("Adjusted")
    DECAY = "decay", _("Decay after a paid membership lapsed")


# reasons the set-based jobs write on growth entries (tiers/services.py, tiers/decay.py)
PERIOD_ENDED = "tier period ended: "
LAPSED = "paid membership lapsed"


class GrowthEntry(models.Model):
    """Append-only: a trigger refuses UPDATE and DELETE (migration 0002)."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"), db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=GrowthKind.choices)
    delta = models.BigIntegerField(_("growth change"))
    order = models.ForeignKey(Order, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("order"))
    source_key = models.CharField(_("source key"), max_length=160, null=True, blank=True,
                                  unique=True)
    reason = OneLineField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("growth entry")
        verbose_name_plural = _("growth entries")
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(kind="earn"),
                                    name="growth_one_earning_per_sale"),
            models.UniqueConstraint(fields=["order"], condition=Q(kind="reverse"),
                                    name="growth_one_reversal_per_return"),
        ]
        indexes = [models.Index(fields=["member", "-id"], name="growth_entry_member_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta:+d}"

    @property
    def reason_text(self) -> str:
        """The reason in words: the ledger's codes ("sale", "checkin", "tier period ended:
        reset") translated, an operator's own reason as written."""
        if self.reason.startswith(PERIOD_ENDED):
            policy = self.reason[len(PERIOD_ENDED):]
            label = EndPolicy(policy).label if policy in EndPolicy.values else policy
            return str(_("Tier period ended: %(policy)s") % {"policy": label})
        if self.reason == LAPSED:
            return str(GrowthKind.DECAY.label)
        return reason_text(self.reason)


class ChangeReason(models.TextChoices):
    INITIAL = "initial", _("Initial tier")
    UPGRADE = "upgrade", _("Upgrade")
    RENEWAL = "renewal", _("Renewal")
    DOWNGRADE = "downgrade", _("Downgrade")


class TierChange(models.Model):
    """Append-only: a trigger refuses UPDATE and DELETE (migration 0002)."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"), db_index=False)
    from_tier = models.ForeignKey(Tier, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("from tier"))
    to_tier = models.ForeignKey(Tier, models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("to tier"))
    reason = models.CharField(_("reason"), max_length=16, choices=ChangeReason.choices)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [models.Index(fields=["member", "-id"], name="tier_change_member_idx")]

    def __str__(self) -> str:
        return str(_("Member #%(member)s: %(from)s → %(to)s (%(reason)s)") % {
            "member": self.member_id, "from": self.from_tier or "-", "to": self.to_tier or "-",
            "reason": self.get_reason_display()})


# Benefits and paid membership live in their own modules; importing them here registers
# their models with the app.
from .benefit_models import (  # noqa: E402,F401
    Benefit,
    BenefitAttachment,
    BenefitGrant,
    BenefitUse,
    MultiplierBonus,
)
from .paid_models import PaidMembership, PaidPlan, PaidPurchase  # noqa: E402,F401
