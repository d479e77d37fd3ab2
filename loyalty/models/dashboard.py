"""The dashboard's daily facts: one figure per Beijing day, store and measure (and a key —
the channel, tier or lifecycle stage it counts), written by the nightly job
(loyalty.services.dashboard) so the home page reads a few hundred narrow rows instead of the
ledgers. Flows (new members, sales, points issued …) are the day's movements by the store
they happened at; stocks (members per tier, outstanding points …) are the programme as it
stood when the job ran, by the members' home store."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Store


class Measure(models.TextChoices):
    # flows: what happened on the day
    NEW_MEMBERS = "new_members", _("new members")  # key: source channel
    SALE_ORDERS = "sale_orders", _("sales")
    NET_SALES = "net_sales", _("net sales (¥)")  # sales less returns
    POINTS_ISSUED = "points_issued", _("points issued")
    POINTS_REDEEMED = "points_redeemed", _("points redeemed")
    POINTS_EXPIRED = "points_expired", _("points expired")
    COUPONS_ISSUED = "coupons_issued", _("coupons issued")
    COUPONS_USED = "coupons_used", _("coupons used")
    UPGRADES = "upgrades", _("tier upgrades")
    DOWNGRADES = "downgrades", _("tier downgrades")
    # stocks: the programme when the job ran
    MEMBERS = "members", _("members")
    TIER_MEMBERS = "tier_members", _("members per tier")  # key: tier code
    LIFECYCLE_MEMBERS = "lifecycle", _("members per lifecycle stage")  # key: stage
    BUYERS = "buyers", _("members who have bought")
    REPEAT_BUYERS = "repeat_buyers", _("members who bought twice or more")
    OUTSTANDING_POINTS = "outstanding_points", _("outstanding points")
    PAID_ACTIVE = "paid_active", _("running paid memberships")
    PAID_EVER = "paid_ever", _("members who ever bought a paid plan")
    PAID_RENEWED = "paid_renewed", _("paid members who renewed")


FLOWS = frozenset({Measure.NEW_MEMBERS, Measure.SALE_ORDERS, Measure.NET_SALES,
                   Measure.POINTS_ISSUED, Measure.POINTS_REDEEMED, Measure.POINTS_EXPIRED,
                   Measure.COUPONS_ISSUED, Measure.COUPONS_USED, Measure.UPGRADES,
                   Measure.DOWNGRADES})


class DashboardFact(models.Model):
    day = models.DateField(_("day"))
    store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True, related_name="+",
                              db_index=False, verbose_name=_("store"))
    measure = models.CharField(_("measure"), max_length=20, choices=Measure.choices)
    key = models.CharField(_("key"), max_length=32, blank=True, default="")
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("dashboard fact")
        verbose_name_plural = _("dashboard facts")
        constraints = [
            models.UniqueConstraint(fields=["day", "store", "measure", "key"],
                                    nulls_distinct=False, name="dashboard_fact_once"),
        ]
        indexes = [models.Index(fields=["day", "measure"], name="dashboard_fact_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.key} {self.value}"
