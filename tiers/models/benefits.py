"""Benefits (权益): the catalog, what each tier and paid plan gives, and the grants of
benefits that come in quantities (a monthly coupon pack, a birthday-month gift, a new-member
gift), with their uses.

A benefit is a catalog entry (what it is, whether and when it is granted, what one unit
costs the brand); an attachment gives it to one tier or one paid plan with its parameters
(2× points, 9.5折 as a rate of 0.95, 2 a month). Benefits that change earning or prices are
applied by the system (tiers.selectors.benefits); benefits with a quantity become grant rows.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineCharField, OneLineField
from core.models import append_only
from members.models import Member
from points.models import Coupon, PointsEntry

from .ladder import Tier
from .paid import PaidPlan


class BenefitKind(models.TextChoices):
    # fixed service benefits: care, convenience, credit
    BIRTHDAY_GIFT = "birthday_gift", _("Birthday gift")
    DEDICATED_SERVICE = "dedicated_service", _("Dedicated service")
    PRIORITY_SERVICE = "priority_service", _("Priority service")
    OFFLINE_SERVICES = "offline_services", _("More offline services")
    FREE_SHIPPING = "free_shipping", _("Free shipping")
    DEPOSIT_FREE = "deposit_free", _("Deposit-free")
    # variable benefits: preferential, priority, member day
    POINTS_MULTIPLIER = "points_multiplier", _("Points multiplier")
    TIER_DISCOUNT = "tier_discount", _("Exclusive discount")
    TARGETED_DISCOUNT = "targeted_discount", _("Targeted discount")
    POINTS_REDEMPTION = "points_redemption", _("Points redemption rights")
    COUPON_PACK = "coupon_pack", _("Coupon pack")
    MEMBER_DAY = "member_day", _("Member-day offer")
    PRIORITY_PURCHASE = "priority_purchase", _("Priority purchase")
    OFFLINE_EVENTS = "offline_events", _("Offline events")
    NEW_MEMBER_GIFT = "new_member_gift", _("New-member gift")


FIXED_SERVICE_KINDS = frozenset({
    BenefitKind.BIRTHDAY_GIFT, BenefitKind.DEDICATED_SERVICE, BenefitKind.PRIORITY_SERVICE,
    BenefitKind.OFFLINE_SERVICES, BenefitKind.FREE_SHIPPING, BenefitKind.DEPOSIT_FREE,
})
# Claiming a grant of these issues coupons (tiers.services.benefits._fulfil_coupon_grant).
COUPON_KINDS = frozenset({BenefitKind.COUPON_PACK})


class GrantPeriod(models.TextChoices):
    NONE = "none", _("Not granted (held while in the tier or plan)")
    MONTHLY = "monthly", _("Every month")
    BIRTHDAY_MONTH = "birthday_month", _("In the birthday month, once a year")
    ON_JOINING = "on_joining", _("Once, to a new member")


class Benefit(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = OneLineField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=20, choices=BenefitKind.choices)
    description = MultiLineCharField(_("description"), max_length=200, blank=True)
    grant_period = models.CharField(
        _("granted"), max_length=16, choices=GrantPeriod.choices, default=GrantPeriod.NONE,
        help_text=_("Benefits with a quantity are granted per period by the daily job and "
                    "claimed and used at the counter or through the API."))
    valid_days = models.PositiveSmallIntegerField(
        _("days to claim a new-member gift"), default=30,
        help_text=_("Monthly and birthday grants are valid to the end of their month (Beijing "
                    "time); a new-member gift this many days."))
    unit_cost = models.DecimalField(
        _("cost per unit used (CNY)"), max_digits=10, decimal_places=2, default=0,
        help_text=_("What one unit costs the brand when used; counted per tier and month."))
    coupon_template = models.ForeignKey(
        "points.CouponTemplate", models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("coupon template"),
        help_text=_("For coupon packs: the coupon template each unit issues."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="benefit_cost_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="coupon_pack") | Q(coupon_template__isnull=False),
                name="benefit_coupon_pack_has_template"),
            models.CheckConstraint(
                condition=~Q(kind__in=["points_multiplier", "tier_discount"])
                | Q(grant_period="none"),
                name="benefit_applied_kinds_not_granted"),
            models.CheckConstraint(condition=Q(valid_days__gte=1), name="benefit_valid_days"),
        ]

    def __str__(self) -> str:
        return self.name


class BenefitAttachment(models.Model):
    """A benefit given to one tier or one paid plan, with its parameters."""

    benefit = models.ForeignKey(Benefit, models.PROTECT, related_name="attachments",
                                verbose_name=_("benefit"))
    tier = models.ForeignKey(Tier, models.CASCADE, null=True, blank=True,
                             related_name="benefit_attachments", verbose_name=_("tier"))
    plan = models.ForeignKey(PaidPlan, models.CASCADE, null=True, blank=True,
                             related_name="benefit_attachments", verbose_name=_("paid plan"))
    multiplier = models.DecimalField(_("points multiplier"), max_digits=4, decimal_places=2,
                                     null=True, blank=True, help_text=_("2 for double points."))
    discount_rate = models.DecimalField(
        _("discount rate"), max_digits=4, decimal_places=3, null=True, blank=True,
        help_text=_("The share of the price paid: 0.95 for 9.5折."))
    quantity = models.PositiveSmallIntegerField(_("quantity per period"), null=True, blank=True)

    class Meta:
        verbose_name = _("benefit of a tier or plan")
        verbose_name_plural = _("benefits of tiers and plans")
        constraints = [
            models.CheckConstraint(condition=Q(tier__isnull=True) ^ Q(plan__isnull=True),
                                   name="benefit_attachment_one_owner"),
            models.UniqueConstraint(fields=["tier", "benefit"], name="benefit_once_per_tier",
                                    condition=Q(tier__isnull=False)),
            models.UniqueConstraint(fields=["plan", "benefit"], name="benefit_once_per_plan",
                                    condition=Q(plan__isnull=False)),
            models.CheckConstraint(
                condition=Q(multiplier__isnull=True) | Q(multiplier__gte=1, multiplier__lte=10),
                name="benefit_multiplier_range"),
            models.CheckConstraint(
                condition=Q(discount_rate__isnull=True) | Q(discount_rate__gt=0,
                                                            discount_rate__lte=1),
                name="benefit_discount_rate_range"),
            models.CheckConstraint(condition=Q(quantity__isnull=True) | Q(quantity__gte=1),
                                   name="benefit_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.tier or self.plan}: {self.benefit}"


class GrantStatus(models.TextChoices):
    GRANTED = "granted", _("Granted, not claimed")
    CLAIMED = "claimed", _("Claimed")
    USED = "used", _("Used up")
    EXPIRED = "expired", _("Expired")


class BenefitGrant(models.Model):
    """A benefit granted to a member for one period ("2026-03" for a month, "2026" for a
    birthday year, "joining" for a new member). UNIQUE (member, benefit, period) makes every
    grant job safe to re-run or to run twice at once."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"), db_index=False)
    benefit = models.ForeignKey(Benefit, models.PROTECT, related_name="+",
                                verbose_name=_("benefit"))
    period = models.CharField(_("period"), max_length=16)
    tier = models.ForeignKey(Tier, models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("granted for tier"))
    plan = models.ForeignKey(PaidPlan, models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("granted for paid plan"))
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    used_quantity = models.PositiveSmallIntegerField(_("used"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=GrantStatus.choices,
                              default=GrantStatus.GRANTED)
    granted_at = models.DateTimeField(_("granted at"))
    expires_at = models.DateTimeField(_("expires at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("benefit grant")
        verbose_name_plural = _("benefit grants")
        constraints = [
            models.UniqueConstraint(fields=["member", "benefit", "period"],
                                    name="benefit_grant_once_per_period"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="benefit_grant_quantity"),
            models.CheckConstraint(condition=Q(used_quantity__lte=models.F("quantity")),
                                   name="benefit_grant_not_overused"),
            models.CheckConstraint(
                condition=~Q(status__in=["claimed", "used"]) | Q(claimed_at__isnull=False),
                name="benefit_grant_claimed_has_time"),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="benefit_grant_member_idx"),
            models.Index(fields=["expires_at", "id"], name="benefit_grant_open_idx",
                         condition=Q(status__in=["granted", "claimed"])),
        ]

    def __str__(self) -> str:
        return str(_("Grant #%(grant)s: %(benefit)s, %(period)s") % {
            "grant": self.pk, "benefit": self.benefit.name, "period": self.period})

    @property
    def remaining(self) -> int:
        return self.quantity - self.used_quantity


class BenefitUse(models.Model):
    """Append-only: units of a grant used, with the unit cost at the time (for cost per
    tier). A source key makes a retried use answer the first one."""

    grant = models.ForeignKey(BenefitGrant, models.PROTECT, related_name="uses",
                              verbose_name=_("grant"))
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False)
    tier = models.ForeignKey(Tier, models.PROTECT, null=True, blank=True, related_name="+")
    plan = models.ForeignKey(PaidPlan, models.PROTECT, null=True, blank=True, related_name="+")
    units = models.PositiveSmallIntegerField(_("units"))
    unit_cost = models.DecimalField(_("cost per unit (CNY)"), max_digits=10, decimal_places=2)
    source_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    used_at = models.DateTimeField(_("used at"))

    class Meta:
        verbose_name = _("benefit use")
        verbose_name_plural = _("benefit uses")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [models.CheckConstraint(condition=Q(units__gte=1), name="benefit_use_units")]
        indexes = [models.Index(fields=["used_at"], name="benefit_use_time_idx")]


class GrantCoupon(models.Model):
    """A coupon a coupon-pack grant issued, so the coupon's value, once used, counts in the
    cost of the tier or plan that granted it."""

    grant = models.ForeignKey(BenefitGrant, models.PROTECT, related_name="coupons",
                              verbose_name=_("grant"))
    coupon = models.OneToOneField(Coupon, models.PROTECT, related_name="+",
                                  verbose_name=_("coupon"))

    class Meta:
        verbose_name = _("coupon from a grant")
        verbose_name_plural = _("coupons from grants")


class MultiplierBonus(models.Model):
    """The extra points a points-multiplier benefit added to one earning, and whose benefit
    it was (tier or paid plan), so the points it cost are counted per tier and month."""

    entry = models.OneToOneField(PointsEntry, models.PROTECT, related_name="+",
                                 verbose_name=_("points entry"))
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False)
    tier = models.ForeignKey(Tier, models.PROTECT, null=True, blank=True, related_name="+")
    plan = models.ForeignKey(PaidPlan, models.PROTECT, null=True, blank=True, related_name="+")
    multiplier = models.DecimalField(max_digits=4, decimal_places=2)
    extra_points = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("multiplier bonus")
        verbose_name_plural = _("multiplier bonuses")
        triggers = [append_only()]  # UPDATE and DELETE refused
        indexes = [models.Index(fields=["created_at"], name="multiplier_bonus_time_idx")]
