"""Points used as cash: the payment that took them, at the point value of that moment, and
the sale it paid.

A storefront pays ¥1.50 of an order with 150 points (at 100 points = ¥1): a spend under its
`Idempotency-Key`, or a checkout hold it captures, takes the points and records a
`PointsPayment`. The sale then names that payment; the server links the two once, so a
return can give back exactly those points, into the lots they came from.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import OneLineField
from members.models import Member, Order

CENT = Decimal("0.01")


def points_cash_value(points: int, points_per_yuan: int) -> Decimal:
    """What `points` pay at `points_per_yuan` points to the yuan, in whole cents (rounded
    down, as the checkout preview values them): 150 at 100 → ¥1.50; 1,000 at 150 → ¥6.66."""
    if points_per_yuan <= 0:
        return Decimal("0.00")
    return (Decimal(points) / points_per_yuan).quantize(CENT, rounding=ROUND_DOWN)


class PointsPayment(models.Model):
    class Kind(models.TextChoices):
        SPEND = "spend", _("Spend")
        HOLD = "hold", _("Captured hold")

    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    entry = models.OneToOneField("points.PointsEntry", models.PROTECT, related_name="payment",
                                 verbose_name=pgettext_lazy("ledger entry", "entry"),
                                 help_text=_("The spend or the capture that took the points."))
    hold = models.OneToOneField("points.PointsHold", models.PROTECT, null=True, blank=True,
                                related_name="payment", verbose_name=_("hold"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"),
                              help_text=_("The integrator whose API key took the points."))
    reference = OneLineField(_("reference"), max_length=255, blank=True,
                                 help_text=_("A spend's Idempotency-Key."))
    points = models.BigIntegerField(_("points"))
    points_per_yuan = models.PositiveIntegerField(_("points worth one yuan"))
    order = models.OneToOneField(Order, models.PROTECT, null=True, blank=True,
                                 related_name="points_payment", verbose_name=_("sale paid"))
    created_at = models.DateTimeField(_("time"))
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("points payment")
        verbose_name_plural = _("points payments")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="points_payment_positive"),
            models.CheckConstraint(condition=Q(kind="hold", hold__isnull=False)
                                   | Q(kind="spend", hold__isnull=True),
                                   name="points_payment_hold_iff_kind"),
            models.CheckConstraint(condition=Q(order__isnull=True) | Q(linked_at__isnull=False),
                                   name="points_payment_linked_has_time"),
            # one spend per key, member and integrator: the sale names it by the key
            models.UniqueConstraint(fields=["owner", "member", "reference"],
                                    condition=Q(kind="spend") & ~Q(reference=""),
                                    nulls_distinct=False, name="points_payment_spend_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points}"

    @property
    def cash_value(self) -> Decimal:
        return points_cash_value(self.points, self.points_per_yuan)
