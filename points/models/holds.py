"""Two-phase holds at checkout: points reserved for an open basket, then captured (spent)
or released (returned); a hold never closed expires by itself.

While a hold is open its points sit in the member's `held` balance, taken out of the lots
they came from (the hold entry's lot movements say how many from each), so they can be
neither spent nor expired elsewhere. Capture spends at most the held amount,
soonest-expiring parts first, and gives the rest back to its lots; release and expiry
give everything back. Each hold is closed once: its capture and its release are ledger
entries under the unique source keys `capture:hold:<id>` and `release:hold:<id>`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from members.models import Member


class PointsHold(models.Model):
    class State(models.TextChoices):
        HELD = "held", _("Held")
        CAPTURED = "captured", _("Captured")
        RELEASED = "released", _("Released")
        EXPIRED = "expired", _("Expired")

    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"),
                              help_text=_("The integrator whose API key placed the hold."))
    points = models.BigIntegerField(_("points held"))
    captured = models.BigIntegerField(_("points captured"), default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices,
                             default=State.HELD)
    reference = OneLineField(_("reference"), max_length=100, blank=True,
                                 help_text=_("The storefront's basket or order number."))
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("created at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("points hold")
        verbose_name_plural = _("points holds")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0) & Q(captured__gte=0)
                                   & Q(captured__lte=F("points")),
                                   name="points_hold_amounts_valid"),
            models.CheckConstraint(condition=Q(state="held", closed_at__isnull=True)
                                   | (~Q(state="held") & Q(closed_at__isnull=False)),
                                   name="points_hold_closed_iff_not_held"),
            models.CheckConstraint(condition=Q(state="captured") | Q(captured=0),
                                   name="points_hold_only_captures_capture"),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="points_hold_member_idx"),
            models.Index(fields=["expires_at"], condition=Q(state="held"),
                         name="points_hold_open_expiry_idx"),
        ]

    def __str__(self) -> str:
        return str(_("Hold #%(hold)s: %(points)s points (%(state)s)") % {
            "hold": self.pk, "points": self.points, "state": self.get_state_display()})
