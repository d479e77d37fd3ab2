"""Committed checkouts, kept by the caller's key."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckoutCommit(models.Model):
    """One purchase committed at a till (counter page or API) under the caller's key: the
    sale, the coupon it redeemed, the points payment and the gifts it took, so a retry
    under the same key answers this outcome without doing anything again."""

    key = models.CharField(_("key"), max_length=255, unique=True)
    request_hash = models.CharField(max_length=64)
    member = models.ForeignKey("members.Member", models.PROTECT, related_name="+",
                               db_index=False, verbose_name=_("member"))
    order = models.OneToOneField("members.Order", models.PROTECT, related_name="+",
                                 verbose_name=_("sale"))
    coupon = models.ForeignKey("points.Coupon", models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("coupon"))
    payment = models.OneToOneField("points.PointsPayment", models.PROTECT, null=True,
                                   blank=True, related_name="+",
                                   verbose_name=_("points payment"))
    redemption_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("checkout")
        verbose_name_plural = _("checkouts")
