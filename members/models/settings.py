"""The base layer's settings: one row, edited on its admin page."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import ProgrammeSettings


class MemberSettings(ProgrammeSettings):
    repurchase_cycle_days = models.PositiveIntegerField(
        _("repurchase cycle (days)"), default=30,
        help_text=_("How often a typical member buys again; lifecycle stages and "
                    "reactivation campaigns are measured against it."),
    )
    rfm_levels = models.PositiveSmallIntegerField(
        _("RFM score levels"), default=5,
        validators=[MinValueValidator(2), MaxValueValidator(10)],
        help_text=_("Recency, frequency and monetary are scored 1 to this many by equal "
                    "shares of the members who bought (5: quintiles)."),
    )

    class Meta:
        verbose_name = _("member settings")
        verbose_name_plural = _("member settings")
