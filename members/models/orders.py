"""Orders: sales and returns with their lines, booked once per store and order number."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import AttributedRow

from .members import Member
from .stores import Store

MONEY = {"max_digits": 12, "decimal_places": 2}


class Order(AttributedRow):
    class Kind(models.TextChoices):
        SALE = "sale", _("Sale")
        RETURN = "return", _("Return")

    # no index of its own: the unique (store, order_no) index leads with store_id, and a
    # second index tempts the planner into scanning a whole store's orders
    store = models.ForeignKey(Store, models.PROTECT, related_name="orders",
                              verbose_name=_("store"), db_index=False)
    order_no = OneLineField(_("order number"), max_length=64)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    member = models.ForeignKey(Member, models.PROTECT, related_name="orders",
                               verbose_name=_("member"))
    original_order = models.ForeignKey("self", models.PROTECT, null=True, blank=True,
                                       related_name="returns", verbose_name=_("original sale"))
    ordered_at = models.DateTimeField(_("ordered at"))
    gross_amount = models.DecimalField(_("gross amount"), **MONEY)
    coupon_discount = models.DecimalField(_("coupon discount"), **MONEY)
    tier_discount = models.DecimalField(_("tier discount"), **MONEY)
    other_discount = models.DecimalField(_("other discount"), **MONEY)
    points_cash = models.DecimalField(_("points used as cash"), **MONEY)
    net_amount = models.DecimalField(_("net paid"), **MONEY)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["store", "order_no"], name="order_number_per_store"),
            models.CheckConstraint(
                condition=(Q(kind="sale") & Q(original_order__isnull=True))
                | (Q(kind="return") & Q(original_order__isnull=False)),
                name="order_return_has_sale",
            ),
            models.CheckConstraint(
                condition=Q(gross_amount__gte=0) & Q(coupon_discount__gte=0)
                & Q(tier_discount__gte=0) & Q(other_discount__gte=0) & Q(points_cash__gte=0)
                & Q(net_amount__gte=0),
                name="order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(net_amount=F("gross_amount") - F("coupon_discount")
                            - F("tier_discount") - F("other_discount") - F("points_cash")),
                name="order_net_is_gross_less_discounts",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "ordered_at"], name="order_member_time_idx"),
            models.Index(fields=["order_no"], name="order_number_idx"),
            # reports over a time window (a month's sales, paid-membership figures)
            models.Index(fields=["ordered_at"], name="order_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.store.code}/{self.order_no}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, models.CASCADE, related_name="lines",
                              verbose_name=_("order"), db_index=False)  # (order, line_no) is unique
    line_no = models.PositiveSmallIntegerField(_("line"))
    sku = OneLineField(_("SKU"), max_length=64)
    category = OneLineField(_("product category"), max_length=64, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    gross_amount = models.DecimalField(_("gross amount"), **MONEY)
    coupon_discount = models.DecimalField(_("coupon discount"), **MONEY)
    tier_discount = models.DecimalField(_("tier discount"), **MONEY)
    other_discount = models.DecimalField(_("other discount"), **MONEY)
    points_cash = models.DecimalField(_("points used as cash"), **MONEY)
    net_amount = models.DecimalField(_("net paid"), **MONEY)
    original_line = models.ForeignKey("self", models.PROTECT, null=True, blank=True,
                                      related_name="returned_by",
                                      verbose_name=_("returned sale line"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_number_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(gross_amount__gte=0) & Q(coupon_discount__gte=0)
                & Q(tier_discount__gte=0) & Q(other_discount__gte=0) & Q(points_cash__gte=0)
                & Q(net_amount__gte=0),
                name="order_line_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(net_amount=F("gross_amount") - F("coupon_discount")
                            - F("tier_discount") - F("other_discount") - F("points_cash")),
                name="order_line_net_is_gross_less_discounts",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.line_no} {self.sku} × {self.quantity}"
