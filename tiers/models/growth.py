"""The growth ledger: one account per member and its append-only entries."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import append_only
from members.models import Member, Order
from points.reasons import reason_text

from .ladder import EndPolicy, Tier


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
    floor_tier = models.ForeignKey(
        Tier, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("manual tier (floor)"),
        help_text=_("Set by an operator: re-evaluation never goes below it until its end."))
    floor_until = models.DateTimeField(_("manual tier ends at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("growth account")
        verbose_name_plural = _("growth accounts")
        constraints = [
            models.CheckConstraint(condition=Q(floor_tier__isnull=True, floor_until__isnull=True)
                                   | Q(floor_tier__isnull=False, floor_until__isnull=False),
                                   name="growth_floor_has_an_end"),
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
    """Append-only: `append_only()` refuses UPDATE and DELETE."""

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
        triggers = [append_only()]  # UPDATE and DELETE refused
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
