"""Paid membership (付费会员): plans, each member's membership and the purchases behind it.

A paid membership is its own track beside the earned tiers: a member buys a plan (half a
year, a year) and holds its benefits until the paid period ends. Buying while active extends
from the current end; buying after the end starts a new period now.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import append_only
from members.models import Member


class PaidPlan(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = OneLineField(_("name"), max_length=64)
    duration_months = models.PositiveSmallIntegerField(
        _("duration (months)"), help_text=_("6 for a half-year plan, 12 for an annual one."))
    price = models.DecimalField(_("price (CNY)"), max_digits=10, decimal_places=2)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("paid plan")
        verbose_name_plural = _("paid plans")
        ordering = ["duration_months", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(duration_months__gte=1, duration_months__lte=120),
                                   name="paid_plan_duration_range"),
            models.CheckConstraint(condition=Q(price__gte=0), name="paid_plan_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class PaidStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    LAPSED = "lapsed", _("Lapsed")


class PaidMembership(models.Model):
    """A member's paid membership as it stands: the current plan and paid period. Benefits
    hold while `ends_at` is in the future; `status` is moved to lapsed by the daily job (for
    lists and figures), but readers decide by `ends_at`, so a late job changes nothing."""

    member = models.OneToOneField(Member, models.PROTECT, primary_key=True,
                                  related_name="paid_membership", verbose_name=_("member"))
    plan = models.ForeignKey(PaidPlan, models.PROTECT, related_name="+", verbose_name=_("plan"))
    status = models.CharField(_("status"), max_length=8, choices=PaidStatus.choices,
                              default=PaidStatus.ACTIVE)
    first_started_at = models.DateTimeField(_("member since"))
    period_started_at = models.DateTimeField(_("current period started"))
    ends_at = models.DateTimeField(_("paid until"))
    purchases = models.PositiveIntegerField(_("purchases"), default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("paid membership")
        verbose_name_plural = _("paid memberships")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("period_started_at")),
                                   name="paid_membership_period_order"),
        ]
        indexes = [models.Index(fields=["ends_at", "member"], name="paid_membership_end_idx")]

    def __str__(self) -> str:
        return str(_("Member #%(member)s: %(plan)s until %(end)s") % {
            "member": self.member_id, "plan": self.plan.name,
            "end": f"{timezone.localtime(self.ends_at):%Y-%m-%d}"})


class PurchaseKind(models.TextChoices):
    NEW = "new", _("First purchase")
    RENEWAL = "renewal", _("Renewal while active")
    RETURNING = "returning", _("Bought again after lapsing")


class PurchaseChannel(models.TextChoices):
    API = "api", _("Storefront (API)")
    ADMIN = "admin", _("Operator (admin)")


class PaidPurchase(models.Model):
    """Append-only: one row per purchase, idempotent by the storefront's purchase id."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"), db_index=False)
    plan = models.ForeignKey(PaidPlan, models.PROTECT, related_name="+", verbose_name=_("plan"))
    purchase_id = OneLineField(_("purchase id"), max_length=64, unique=True,
                                   help_text=_("The storefront's id for the purchase."))
    kind = models.CharField(_("kind"), max_length=10, choices=PurchaseKind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=PurchaseChannel.choices)
    amount = models.DecimalField(_("amount paid (CNY)"), max_digits=10, decimal_places=2)
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    operator = models.ForeignKey("auth.User", models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("operator"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("paid membership purchase")
        verbose_name_plural = _("paid membership purchases")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="paid_purchase_amount"),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")),
                                   name="paid_purchase_period_order"),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="paid_purchase_member_idx"),
            models.Index(fields=["created_at"], name="paid_purchase_time_idx"),
            models.Index(fields=["period_end"], name="paid_purchase_end_idx"),
        ]

    def __str__(self) -> str:
        return str(_("Purchase %(purchase)s: %(plan)s (%(kind)s)") % {
            "purchase": self.purchase_id, "plan": self.plan.name,
            "kind": self.get_kind_display()})


class PaidLapse(models.Model):
    """Append-only: a paid membership lapsed — its paid period ended without a renewal —
    one row per member and period end, written by the daily job with the status change. The
    commit-ordered feed reads it (webhooks: paid membership lapsed)."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    plan = models.ForeignKey(PaidPlan, models.PROTECT, related_name="+", verbose_name=_("plan"))
    ended_at = models.DateTimeField(_("paid until"))
    created_at = models.DateTimeField(_("lapsed at"))

    class Meta:
        verbose_name = _("paid membership lapse")
        verbose_name_plural = _("paid membership lapses")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            models.UniqueConstraint(fields=["member", "ended_at"], name="paid_lapse_once"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}:{self.ended_at:%Y-%m-%d}"
