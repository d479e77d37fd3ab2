"""How a sale was paid: its tenders — cash, stored value, a gift card, points — and what a
return gave back to each of them.

A ¥300 sale paid ¥100 in cash, ¥150 from stored value and ¥50 with a gift card has three
tender rows; returning half of it gives back ¥50, ¥75 and ¥25 — a row each on the return,
pointing at the sale's tender it gives back to. The points tender is the sale's linked
points payment (points as cash); its give-back is the points payment's own (into its lots).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import append_only
from members.models import Order

from .stored_value import MONEY


class TenderKind(models.TextChoices):
    CASH = "cash", _("Cash")
    STORED_VALUE = "stored_value", _("Stored value")
    GIFT_CARD = "gift_card", _("Gift card")
    POINTS = "points", _("Points")


class OrderTender(models.Model):
    order = models.ForeignKey(Order, models.PROTECT, related_name="tenders",
                              verbose_name=_("order"))
    kind = models.CharField(_("tender"), max_length=12, choices=TenderKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY,
                                 help_text=_("Paid (a sale) or given back (a return)."))
    paid = models.ForeignKey("self", models.PROTECT, null=True, blank=True,
                             related_name="given_back", verbose_name=_("tender given back to"))
    stored_value_entry = models.OneToOneField("StoredValueEntry", models.PROTECT, null=True,
                                              blank=True, related_name="tender",
                                              verbose_name=_("stored-value entry"))
    gift_card_entry = models.OneToOneField("GiftCardEntry", models.PROTECT, null=True,
                                           blank=True, related_name="tender",
                                           verbose_name=_("gift card entry"))
    points_payment = models.ForeignKey("PointsPayment", models.PROTECT, null=True, blank=True,
                                       related_name="+", db_index=False,
                                       verbose_name=_("points payment"))

    class Meta:
        verbose_name = _("tender")
        verbose_name_plural = _("tenders")
        triggers = [append_only()]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="tender_not_negative"),
            models.CheckConstraint(
                condition=(Q(kind="stored_value", stored_value_entry__isnull=False)
                           | Q(kind="gift_card", gift_card_entry__isnull=False)
                           | Q(kind="cash") | Q(kind="points")),
                name="tender_names_its_entry"),
            models.UniqueConstraint(fields=["order", "paid"], nulls_distinct=True,
                                    name="tender_once_per_return_and_sale_tender"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ¥{self.amount}"
