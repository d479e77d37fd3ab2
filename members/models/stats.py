"""Member statistics: purchase figures, RFM scores and segments, lifecycle."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import OneLineField

MONEY = {"max_digits": 14, "decimal_places": 2}


class Lifecycle(models.TextChoices):
    """Measured against the programme's repurchase cycle C (MemberSettings): a first
    purchase within C is new; a last purchase within C active, within 2C at risk, within
    4C dormant, older churned."""

    NEW = "new", pgettext_lazy("lifecycle", "New")
    ACTIVE = "active", pgettext_lazy("lifecycle", "Active")
    AT_RISK = "at_risk", pgettext_lazy("lifecycle", "At risk")
    DORMANT = "dormant", pgettext_lazy("lifecycle", "Dormant")
    CHURNED = "churned", pgettext_lazy("lifecycle", "Churned")


class Quadrant(models.TextChoices):
    """Frequency × monetary against the middle score: high F and high M are the core."""

    CORE = "core", _("High frequency, high spend")
    FREQUENT = "frequent", _("High frequency, low spend")
    BIG_TICKET = "big_ticket", _("Low frequency, high spend")
    LIGHT = "light", _("Low frequency, low spend")


class MemberStats(models.Model):
    """One row per member who has bought. The purchase columns follow every sale and
    return (the intake) and are rebuilt from the orders each night; the two agree."""

    member = models.OneToOneField("members.Member", models.CASCADE, primary_key=True,
                                  related_name="stats", verbose_name=_("member"))
    first_purchase_at = models.DateTimeField(_("first purchase"))
    last_purchase_at = models.DateTimeField(_("last purchase"))
    order_count = models.PositiveIntegerField(_("orders"))
    return_count = models.PositiveIntegerField(_("returns"))
    sales_amount = models.DecimalField(_("paid on sales"), **MONEY)
    returns_amount = models.DecimalField(_("refunded"), **MONEY)
    net_spend = models.DecimalField(_("net spend"), **MONEY)
    average_spend = models.DecimalField(_("average net spend per order"), **MONEY)
    repurchase_cycle_days = models.DecimalField(
        _("personal repurchase cycle (days)"), max_digits=8, decimal_places=1, null=True,
        help_text=_("Days between the first and the last purchase over the orders between "
                    "them; empty after one order."))
    recency_score = models.PositiveSmallIntegerField(_("R score"), null=True)
    frequency_score = models.PositiveSmallIntegerField(_("F score"), null=True)
    monetary_score = models.PositiveSmallIntegerField(_("M score"), null=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=32, blank=True)
    quadrant = models.CharField(_("M×F quadrant"), max_length=16, choices=Quadrant.choices,
                                blank=True)
    lifecycle = models.CharField(_("lifecycle stage"), max_length=8,
                                 choices=Lifecycle.choices, blank=True)

    class Meta:
        verbose_name = _("member statistics")
        verbose_name_plural = _("member statistics")
        constraints = [
            models.CheckConstraint(condition=Q(order_count__gte=1), name="stats_has_an_order"),
            models.CheckConstraint(condition=Q(first_purchase_at__lte=models.F("last_purchase_at")),
                                   name="stats_first_before_last"),
        ]


class RfmSegment(models.Model):
    """A named RFM segment as data: the score ranges it covers; the first match by
    priority names a member (Champions: R 4–5, F 4–5, M 4–5)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = OneLineField(_("name"), max_length=64)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100,
                                                help_text=_("Lower numbers are tried first."))
    r_min = models.PositiveSmallIntegerField(_("R from"), default=1)
    r_max = models.PositiveSmallIntegerField(_("R to"), default=5)
    f_min = models.PositiveSmallIntegerField(_("F from"), default=1)
    f_max = models.PositiveSmallIntegerField(_("F to"), default=5)
    m_min = models.PositiveSmallIntegerField(_("M from"), default=1)
    m_max = models.PositiveSmallIntegerField(_("M to"), default=5)

    class Meta:
        verbose_name = _("RFM segment")
        verbose_name_plural = _("RFM segments")
        ordering = ["priority", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(r_min__lte=models.F("r_max")) & Q(f_min__lte=models.F("f_max"))
                & Q(m_min__lte=models.F("m_max")) & Q(r_min__gte=1) & Q(f_min__gte=1)
                & Q(m_min__gte=1),
                name="rfm_segment_ranges_ordered"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the operator's language: a starting segment keeps its translated
        label ("promising" → 潜力客户 / Promising) until an operator renames it."""
        from ..defaults import RFM_SEGMENT_LABELS, SEEDED_NAMES

        label = RFM_SEGMENT_LABELS.get(self.code)
        if label is not None and self.name in ("", SEEDED_NAMES.get(self.code)):
            return str(label)
        return self.name or self.code


class RfmRun(models.Model):
    """The score boundaries of one nightly RFM run, shown to the operator: a member whose
    value passes the k-th boundary scores k + 1 (recency counts days since the last
    purchase, fewer days scoring higher)."""

    computed_at = models.DateTimeField(_("computed at"))
    levels = models.PositiveSmallIntegerField(_("score levels"))
    members = models.PositiveIntegerField(_("members scored"))
    recency_days = ArrayField(models.IntegerField(), verbose_name=_("recency boundaries (days)"))
    frequency = ArrayField(models.IntegerField(), verbose_name=_("frequency boundaries (orders)"))
    monetary = ArrayField(models.DecimalField(**MONEY), verbose_name=_("monetary boundaries (yuan)"))

    class Meta:
        verbose_name = _("RFM run")
        verbose_name_plural = _("RFM runs")
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"RFM {timezone.localtime(self.computed_at):%Y-%m-%d %H:%M}"
