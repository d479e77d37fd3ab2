"""The base layer: stores, members, orders, tags and the member activity log."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Right
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import MultiLineTextField, OneLineField
from core.models import AttributedRow, ProgrammeSettings

from .fields import RegionField

MONEY = {"max_digits": 12, "decimal_places": 2}


class MemberSettings(ProgrammeSettings):
    repurchase_cycle_days = models.PositiveIntegerField(
        _("repurchase cycle (days)"), default=30,
        help_text=_("How often a typical member buys again; lifecycle stages and "
                    "reactivation campaigns are measured against it."),
    )
    rfm_levels = models.PositiveSmallIntegerField(
        _("RFM score levels"), default=5,
        validators=[MinValueValidator(2), MaxValueValidator(10)],
        help_text=_("Recency, frequency and monetary are scored 1 to this many by equal "
                    "shares of the members who bought (5: quintiles)."),
    )

    class Meta:
        verbose_name = _("member settings")
        verbose_name_plural = _("member settings")


class Store(models.Model):
    class Kind(models.TextChoices):
        PHYSICAL = "physical", _("Physical store")
        ONLINE = "online", _("Online channel")

    code = OneLineField(_("code"), max_length=32, unique=True)
    name = OneLineField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PHYSICAL)
    region = RegionField(_("region"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Member(models.Model):
    class Gender(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    class Channel(models.TextChoices):
        STORE = "store", _("Store counter")
        MINI_PROGRAM = "mini_program", _("Mini-program")
        WEB = "web", _("Web shop")
        APP = "app", _("App")
        REFERRAL = "referral", _("Referral")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    member_no = models.CharField(_("member number"), max_length=20, unique=True)
    mobile = models.CharField(_("mobile"), max_length=16, null=True, blank=True)
    mobile_last4 = models.GeneratedField(
        expression=Right("mobile", 4), output_field=models.CharField(max_length=4),
        db_persist=True, verbose_name=_("mobile last four digits"),
    )
    name = OneLineField(pgettext_lazy("person", "name"), max_length=64, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices,
                              default=Gender.UNKNOWN)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    region = RegionField(_("region"), max_length=64, blank=True)
    home_store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True,
                                   related_name="home_members", verbose_name=_("home store"))
    source_channel = models.CharField(_("source channel"), max_length=16,
                                      choices=Channel.choices, default=Channel.STORE)
    referrer = models.ForeignKey("self", models.SET_NULL, null=True, blank=True,
                                 related_name="referred_members", verbose_name=_("referrer"))
    external_id = OneLineField(_("storefront external id"), max_length=64, null=True,
                                   blank=True, unique=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.ACTIVE)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    marketing_consent_at = models.DateTimeField(_("consent changed at"), null=True, blank=True)
    marketing_consent_source = OneLineField(_("consent source"), max_length=32, blank=True)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True,
                                    blank=True, related_name="+", verbose_name=_("enrolled by"))
    created_at = models.DateTimeField(_("joined at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["mobile"], condition=Q(mobile__isnull=False) & ~Q(status="closed"),
                name="member_mobile_unique_unless_closed",
            ),
            models.CheckConstraint(
                condition=Q(marketing_consent=False) | Q(marketing_consent_at__isnull=False),
                name="member_consent_has_time",
            ),
            models.CheckConstraint(condition=~Q(referrer=F("id")), name="member_not_own_referrer"),
        ]
        indexes = [
            models.Index(fields=["mobile"], name="member_mobile_idx"),
            models.Index(fields=["mobile_last4"], name="member_mobile_last4_idx"),
            models.Index(fields=["name"], name="member_name_prefix_idx",
                         opclasses=["varchar_pattern_ops"]),
        ]
        permissions = [
            ("view_full_mobile", _("See members' full mobile numbers")),
            ("act_for_all_stores", _("Act for every store, not only one's own")),
        ]

    def __str__(self) -> str:
        return f"{self.member_no} {self.name}".strip()

    @property
    def can_earn_or_spend(self) -> bool:
        """Frozen members cannot earn or spend; returns, expiry and adjustments still apply."""
        return self.status == self.Status.ACTIVE


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


class TagGroup(models.Model):
    name = OneLineField(_("name"), max_length=64, unique=True)
    description = MultiLineTextField(_("description"), blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("tag group")
        verbose_name_plural = _("tag groups")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        RULE = "rule", _("Rule")
        SYSTEM = "system", _("System")

    group = models.ForeignKey(TagGroup, models.PROTECT, null=True, blank=True,
                              related_name="tags", verbose_name=_("group"))
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = OneLineField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.MANUAL)
    description = MultiLineTextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["group__sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class MemberTag(models.Model):
    member = models.ForeignKey(Member, models.CASCADE, related_name="member_tags",
                               verbose_name=_("member"), db_index=False)  # (member, tag) is unique
    tag = models.ForeignKey(Tag, models.CASCADE, related_name="member_tags",
                            verbose_name=_("tag"))
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("member tag")
        verbose_name_plural = _("member tags")
        constraints = [
            models.UniqueConstraint(fields=["member", "tag"], name="member_tag_unique"),
        ]
        indexes = [models.Index(fields=["tag", "member"], name="member_tag_by_tag_idx")]

    def __str__(self) -> str:
        return self.tag.name


class ActivityKind(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    FOLLOWED_ACCOUNT = "followed_account", _("Followed the official account")
    CHECKIN = "checkin", _("Check-in")
    PROFILE_COMPLETED = "profile_completed", _("Profile completed")
    PHONE_BOUND = "phone_bound", _("Phone bound")
    STORE_FAVOURITED = "store_favourited", _("Store favourited")
    REVIEW = "review", _("Review")
    SHARE = "share", _("Share")
    REFERRAL_CONVERTED = "referral_converted", _("Referral converted")
    CUSTOM = "custom", _("Custom event")


class MemberActivity(models.Model):
    """The behaviour log every element reads: one row per event, recorded once."""

    member = models.ForeignKey(Member, models.CASCADE, related_name="activities",
                               verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=24, choices=ActivityKind.choices)
    name = OneLineField(_("custom event name"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    source_key = models.CharField(_("source key"), max_length=128, unique=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("member activity")
        verbose_name_plural = _("member activity")
        constraints = [
            models.CheckConstraint(condition=~Q(kind="custom") | ~Q(name=""),
                                   name="activity_custom_has_name"),
        ]
        indexes = [
            models.Index(fields=["member", "kind", "occurred_at"], name="activity_member_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"


from .access_models import AccessEvent, MemberNote, StoreStaff  # noqa: E402,F401
from .import_models import TagImportJob, TagImportRow  # noqa: E402,F401
from .insight_models import (  # noqa: E402,F401  (statistics, tag rules, segments)
    Lifecycle,
    MemberStats,
    Quadrant,
    RfmRun,
    RfmSegment,
    Segment,
    SegmentFacts,
    SegmentSnapshot,
    SnapshotMember,
    TagChange,
    TagCondition,
    TagRule,
)
