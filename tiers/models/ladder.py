"""The ladder: tiers with their entry, validity and end-of-validity policy, and the
append-only record of every tier change."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import append_only
from members.models import Member, MemberNote, Tag


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


class ChangeReason(models.TextChoices):
    INITIAL = "initial", _("Initial tier")
    UPGRADE = "upgrade", _("Upgrade")
    RENEWAL = "renewal", _("Renewal")
    DOWNGRADE = "downgrade", _("Downgrade")
    MANUAL = "manual", _("Set by an operator")


class TierChange(models.Model):
    """Append-only: `append_only()` refuses UPDATE and DELETE."""

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
        triggers = [append_only()]  # UPDATE and DELETE refused
        indexes = [models.Index(fields=["member", "-id"], name="tier_change_member_idx")]

    def __str__(self) -> str:
        return str(_("Member #%(member)s: %(from)s → %(to)s (%(reason)s)") % {
            "member": self.member_id, "from": self.from_tier or "-", "to": self.to_tier or "-",
            "reason": self.get_reason_display()})


class ManualReason(models.TextChoices):
    VIP = "vip", _("VIP guest")
    STAFF = "staff", _("Staff")
    COMPENSATION = "compensation", _("Compensation")
    PARTNER = "partner", _("Partner programme")
    OTHER = "other", _("Other")


class ManualTier(models.Model):
    """A tier an operator gave a member, with a reason and an end date: until then it is a
    floor the automatic re-evaluation never goes below (`GrowthAccount.floor_tier`). What
    the operator wrote is a member note. Append-only: each setting is a new row."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"), db_index=False)
    tier = models.ForeignKey(Tier, models.PROTECT, related_name="+", verbose_name=_("tier"))
    reason = models.CharField(_("reason"), max_length=16, choices=ManualReason.choices)
    note = models.ForeignKey(MemberNote, models.PROTECT, null=True, blank=True,
                             related_name="+", db_index=False, verbose_name=_("note"))
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                 verbose_name=_("operator"))
    created_at = models.DateTimeField(_("time"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        verbose_name = _("manual tier")
        verbose_name_plural = _("manual tiers")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("created_at")),
                                   name="manual_tier_ends_after_it_starts"),
        ]
        indexes = [models.Index(fields=["member", "-id"], name="manual_tier_member_idx")]

    def __str__(self) -> str:
        return str(_("Member #%(member)s: %(tier)s until %(until)s") % {
            "member": self.member_id, "tier": self.tier, "until": self.ends_at})
