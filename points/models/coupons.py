"""Coupons: templates of five kinds, unique codes, and each coupon's life as an append-only
history per member.

A template says what a coupon is worth (spend ¥200 save ¥30, 10% off, free shipping, a
product voucher, ¥10 off with no threshold) and how long it lasts (fixed dates, or N days
from issue). A coupon is one code of a template: uploaded or generated codes wait in the
template's pool until issued to a member; an issued coupon is redeemed once, voided, or
expires. A coupon redeemed on an order that is returned in full goes back to issued
(restored) while its validity lasts, and may be redeemed again. Every step writes a
`CouponEvent`, which is never updated or deleted.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import AttributedRow, append_only
from members.models import Member, MemberNote, Store

MONEY = {"max_digits": 12, "decimal_places": 2}


class CouponKind(models.TextChoices):
    SPEND_SAVE = "spend_save", _("Spend X, save Y (满减)")
    PERCENT_OFF = "percent_off", _("Percent off")
    FREE_SHIPPING = "free_shipping", _("Free shipping")
    PRODUCT_VOUCHER = "product_voucher", _("Product voucher")
    NO_THRESHOLD = "no_threshold", _("No threshold")


class CodeSource(models.TextChoices):
    GENERATED = "generated", _("Generated at issue")
    UPLOADED = "uploaded", _("Uploaded by an operator")


class CouponTemplate(models.Model):
    name = OneLineField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=CouponKind.choices)
    threshold = models.DecimalField(
        _("minimum basket (¥)"), **MONEY, default=0,
        help_text=_("The basket must reach this amount; 0 for none."))
    amount = models.DecimalField(
        _("amount off (¥)"), **MONEY, null=True, blank=True,
        help_text=_("Spend X save Y and no-threshold: the amount off. Product voucher: the "
                    "most it covers (empty: the whole unit price)."))
    percent_off = models.PositiveSmallIntegerField(
        _("percent off"), null=True, blank=True,
        help_text=_("Percent-off coupons: 10 means 10% off (9折)."))
    max_discount = models.DecimalField(
        _("largest discount (¥)"), **MONEY, null=True, blank=True,
        help_text=_("Percent-off coupons: the discount never exceeds this; empty for no cap."))
    face_value_min = models.DecimalField(
        _("lowest face value (¥)"), **MONEY, null=True, blank=True,
        help_text=_("With the highest face value: each coupon may carry its own amount off, "
                    "set at issue within these bounds (e.g. 20% of the member's average "
                    "order)."))
    face_value_max = models.DecimalField(_("highest face value (¥)"), **MONEY, null=True,
                                         blank=True)
    sku = OneLineField(_("product SKU"), max_length=64, blank=True,
                           help_text=_("Product vouchers: the product they pay for."))
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(
        _("valid until"), null=True, blank=True,
        help_text=_("Fixed validity: coupons are valid from the first date until this one."))
    valid_days = models.PositiveIntegerField(
        _("valid for (days after issue)"), null=True, blank=True,
        help_text=_("Rolling validity: each coupon is valid this many days from its issue."))
    code_source = models.CharField(_("codes"), max_length=10, choices=CodeSource.choices,
                                   default=CodeSource.GENERATED)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        constraints = [
            models.CheckConstraint(
                condition=(Q(valid_until__isnull=False, valid_days__isnull=True)
                           | Q(valid_until__isnull=True, valid_days__isnull=False,
                               valid_days__gt=0)),
                name="coupon_template_one_validity"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True)
                | Q(valid_from__lt=models.F("valid_until")),
                name="coupon_template_window_ordered"),
            models.CheckConstraint(
                condition=Q(threshold__gte=0) & (Q(amount__isnull=True) | Q(amount__gt=0))
                & (Q(max_discount__isnull=True) | Q(max_discount__gt=0)),
                name="coupon_template_amounts_positive"),
            models.CheckConstraint(
                condition=~Q(kind="spend_save") | Q(amount__isnull=False,
                                                    threshold__gte=models.F("amount")),
                name="coupon_template_spend_save_terms"),
            models.CheckConstraint(
                condition=~Q(kind="no_threshold") | Q(amount__isnull=False, threshold=0),
                name="coupon_template_no_threshold_terms"),
            models.CheckConstraint(
                condition=~Q(kind="percent_off") | Q(percent_off__gte=1, percent_off__lte=99),
                name="coupon_template_percent_terms"),
            models.CheckConstraint(
                condition=~Q(kind="product_voucher") | ~Q(sku=""),
                name="coupon_template_voucher_has_sku"),
            models.CheckConstraint(
                condition=Q(face_value_min__isnull=True, face_value_max__isnull=True)
                | Q(face_value_min__gt=0, face_value_max__gte=models.F("face_value_min"),
                    kind__in=["no_threshold", "product_voucher", "spend_save"]),
                name="coupon_template_face_value_bounds"),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    class State(models.TextChoices):
        UNISSUED = "unissued", _("Not issued")
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Redeemed")
        VOIDED = "voided", _("Voided")
        EXPIRED = "expired", _("Expired")

    template = models.ForeignKey(CouponTemplate, models.PROTECT, related_name="coupons",
                                 verbose_name=_("template"))
    code = OneLineField(_("code"), max_length=32, unique=True)
    member = models.ForeignKey(Member, models.PROTECT, null=True, blank=True, related_name="+",
                               db_index=False, verbose_name=_("member"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    order_no = OneLineField(_("order number"), max_length=64, blank=True)
    discount = models.DecimalField(_("discount given (¥)"), **MONEY, null=True, blank=True)
    face_value = models.DecimalField(
        _("face value (¥)"), **MONEY, null=True, blank=True,
        help_text=_("This coupon's own amount off, set at issue; empty: the template's."))
    source_key = models.CharField(_("source key"), max_length=160, null=True, blank=True,
                                  unique=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.CheckConstraint(
                condition=Q(state="unissued", member__isnull=True) | ~Q(state="unissued"),
                name="coupon_unissued_has_no_member"),
            models.CheckConstraint(
                condition=Q(state__in=["unissued", "voided"])
                | Q(member__isnull=False, issued_at__isnull=False, valid_until__isnull=False),
                name="coupon_issued_has_member_and_validity"),
            models.CheckConstraint(condition=Q(face_value__isnull=True) | Q(face_value__gt=0),
                                   name="coupon_face_value_positive"),
            models.CheckConstraint(
                condition=~Q(state="redeemed") | Q(redeemed_at__isnull=False,
                                                   discount__isnull=False),
                name="coupon_redeemed_has_time_and_discount"),
        ]
        indexes = [
            models.Index(fields=["member", "state", "valid_until"], name="coupon_member_idx"),
            models.Index(fields=["valid_until"], condition=Q(state="issued"),
                         name="coupon_expiry_idx"),
            models.Index(fields=["template", "id"], condition=Q(state="unissued"),
                         name="coupon_pool_idx"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def amount(self):
        """What the coupon takes off: its own face value, else the template's amount."""
        return self.face_value if self.face_value is not None else self.template.amount


class CouponEvent(AttributedRow):
    """One step of a coupon's life. Append-only (`append_only()`: UPDATE and DELETE refused);
    carries only the member's id."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Redeemed")
        VOIDED = "voided", _("Voided")
        EXPIRED = "expired", _("Expired")
        RESTORED = "restored", _("Restored")

    coupon = models.ForeignKey(Coupon, models.PROTECT, related_name="events",
                               verbose_name=_("coupon"))
    member = models.ForeignKey(Member, models.PROTECT, null=True, blank=True, related_name="+",
                               db_index=False, verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    order_no = OneLineField(_("order number"), max_length=64, blank=True)
    discount = models.DecimalField(_("discount given (¥)"), **MONEY, null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    note = models.ForeignKey(MemberNote, models.PROTECT, null=True, blank=True,
                             related_name="+", db_index=False, verbose_name=_("note"),
                             help_text=_("What the person who voided the coupon wrote; "
                                         "erasure blanks it."))
    store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True, related_name="+",
                              db_index=False, verbose_name=_("store"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("coupon event")
        verbose_name_plural = _("coupon events")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            # a coupon is issued, voided and expired at most once each; it is redeemed again
            # only after a return restored it (the coupon's row lock orders the steps)
            models.UniqueConstraint(fields=["coupon", "kind"],
                                    condition=Q(kind__in=["issued", "voided", "expired"]),
                                    name="coupon_event_once_per_kind"),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="coupon_event_member_idx"),
        ]

    def __str__(self) -> str:
        return str(_("Coupon #%(coupon)s: %(kind)s") % {"coupon": self.coupon_id,
                                                      "kind": self.get_kind_display()})
