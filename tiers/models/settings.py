"""The tiers' settings: one row, edited on its admin page."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import ProgrammeSettings


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
    immediate_downgrade = models.BooleanField(
        _("downgrade at once on a return"), default=False,
        help_text=_("Off: a tier drops only when its validity ends (re-evaluation). On: a "
                    "return that takes growth below the tier's threshold drops the tier at "
                    "once, never below a manual tier."))
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
