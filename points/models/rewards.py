"""The rewards catalog (兑换好礼): goods and coupons members buy with points.

A reward costs points, may have stock (never below zero: a CHECK), a per-member limit, a
validity window and tag eligibility (tiers are system tags `tier-<code>`, so "Gold and
above" is a list of tier tags). A redemption spends the points through the ledger in the
same transaction as the stock decrement; a goods redemption is then fulfilled (ready for
pickup at a store, or shipped, then delivered) or cancelled, which returns the points.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineTextField, OneLineField
from core.models import AttributedRow, append_only
from members.models import Member, Store, Tag


class RewardKind(models.TextChoices):
    GOODS = "goods", _("Goods")
    COUPON = "coupon", _("Coupon")


class Reward(models.Model):
    name = OneLineField(_("name"), max_length=100)
    description = MultiLineTextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=RewardKind.choices)
    points_cost = models.PositiveIntegerField(_("points cost"))
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True,
        help_text=_("Units left; empty for unlimited. Never goes below zero."))
    per_member_limit = models.PositiveIntegerField(
        _("limit per member"), null=True, blank=True,
        help_text=_("Units one member may redeem in total (cancelled ones do not count); "
                    "empty for no limit."))
    starts_at = models.DateTimeField(_("available from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("available until"), null=True, blank=True)
    eligible_tags = models.ManyToManyField(
        Tag, blank=True, related_name="+", verbose_name=_("only for members with a tag"),
        help_text=_("Empty: every member. Otherwise a member needs at least one of these tags "
                    "(tiers are tags named tier-<code>)."))
    coupon_template = models.ForeignKey(
        "CouponTemplate", models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("coupon template"), help_text=_("Coupon rewards: the coupon issued."))
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ("sort_order", "id")
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_cost_positive"),
            models.CheckConstraint(condition=Q(stock__isnull=True) | Q(stock__gte=0),
                                   name="reward_stock_not_negative"),
            models.CheckConstraint(condition=Q(per_member_limit__isnull=True)
                                   | Q(per_member_limit__gt=0),
                                   name="reward_limit_positive"),
            models.CheckConstraint(
                condition=Q(kind="coupon", coupon_template__isnull=False)
                | Q(kind="goods", coupon_template__isnull=True),
                name="reward_coupon_has_template"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True)
                | Q(starts_at__lt=models.F("ends_at")),
                name="reward_window_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class Fulfilment(models.TextChoices):
    PICKUP = "pickup", _("Pickup at a store")
    SHIPPING = "shipping", _("Shipping")
    COUPON = "coupon", _("Coupon issued")


class RewardRedemption(AttributedRow):
    class State(models.TextChoices):
        ORDERED = "ordered", _("Ordered")
        READY = "ready", _("Ready for pickup")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    reward = models.ForeignKey(Reward, models.PROTECT, related_name="redemptions",
                               verbose_name=_("reward"))
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    points = models.PositiveIntegerField(_("points"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    fulfilment = models.CharField(_("fulfilment"), max_length=10, choices=Fulfilment.choices)
    store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("pickup store"))
    tracking_no = OneLineField(_("tracking number"), max_length=64, blank=True)
    spend_entry = models.ForeignKey("PointsEntry", models.PROTECT, related_name="+",
                                    verbose_name=_("points spent"))
    refund_entry = models.ForeignKey("PointsEntry", models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("points returned"))
    coupon = models.ForeignKey("Coupon", models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("coupon"))
    source_key = models.CharField(_("source key"), max_length=160, unique=True)
    created_at = models.DateTimeField(_("redeemed at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("reward redemption")
        verbose_name_plural = _("reward redemptions")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(points__gt=0),
                                   name="redemption_quantity_positive"),
            models.CheckConstraint(condition=~Q(fulfilment="pickup") | Q(store__isnull=False),
                                   name="redemption_pickup_has_store"),
            models.CheckConstraint(condition=~Q(state="cancelled") | Q(refund_entry__isnull=False),
                                   name="redemption_cancel_returns_points"),
        ]
        indexes = [
            models.Index(fields=["member", "reward"], name="redemption_member_idx"),
            models.Index(fields=["member", "-id"], name="redemption_history_idx"),
        ]

    def __str__(self) -> str:
        return str(_("Redemption #%(redemption)s: %(reward)s × %(quantity)s") % {
            "redemption": self.pk, "reward": self.reward.name, "quantity": self.quantity})


class RedemptionChange(models.Model):
    """Append-only: a redemption's life — redeemed, moved on, fulfilled, cancelled — one row
    per step, written with the step. The commit-ordered feed reads it (webhooks: reward
    redeemed, fulfilled, cancelled)."""

    class Step(models.TextChoices):
        REDEEMED = "redeemed", _("Redeemed")
        PROGRESSED = "progressed", _("Moved on")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    redemption = models.ForeignKey(RewardRedemption, models.PROTECT, related_name="+",
                                   db_index=False, verbose_name=_("redemption"))
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    step = models.CharField(_("step"), max_length=10, choices=Step.choices)
    state = models.CharField(_("state"), max_length=10, choices=RewardRedemption.State.choices)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("redemption change")
        verbose_name_plural = _("redemption changes")
        triggers = [append_only()]  # UPDATE and DELETE refused
        indexes = [models.Index(fields=["redemption", "id"], name="redemption_change_idx")]

    def __str__(self) -> str:
        return f"{self.redemption_id}:{self.step}"
