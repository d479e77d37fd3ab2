"""Gift cards: issued in batches with a code and a PIN (kept only as a keyed hash), activated
when sold, spent as a tender, enquired by code and PIN, expired when their time is up.

Every change of a card's balance is an append-only `GiftCardEntry`; a card's balance equals
the sum of its entries and never goes below zero (a CHECK).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import AttributedRow, append_only
from members.models import Order, Store

from .stored_value import MONEY


class GiftCardBatch(AttributedRow):
    name = OneLineField(_("name"), max_length=100)
    face_value = models.DecimalField(_("face value"), **MONEY)
    quantity = models.PositiveIntegerField(_("cards"))
    valid_days = models.PositiveIntegerField(
        _("valid for (days)"), null=True, blank=True, default=365,
        help_text=_("A card expires at the end of this many days (Beijing calendar) after "
                    "its activation; empty means it never expires."))
    created_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("gift card batch")
        verbose_name_plural = _("gift card batches")
        constraints = [
            models.CheckConstraint(condition=Q(face_value__gt=0) & Q(quantity__gt=0),
                                   name="gift_card_batch_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (¥{self.face_value} × {self.quantity})"


class GiftCard(models.Model):
    class State(models.TextChoices):
        ISSUED = "issued", _("Issued, not sold")
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")

    batch = models.ForeignKey(GiftCardBatch, models.PROTECT, related_name="cards",
                              verbose_name=_("batch"))
    code = models.CharField(_("code"), max_length=20, unique=True)
    pin_hash = models.CharField(_("PIN (hashed)"), max_length=64, editable=False)
    face_value = models.DecimalField(_("face value"), **MONEY)
    balance = models.DecimalField(_("balance"), default=Decimal("0.00"), **MONEY)
    state = models.CharField(_("state"), max_length=8, choices=State.choices,
                             default=State.ISSUED)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("gift card")
        verbose_name_plural = _("gift cards")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0)
                                   & Q(balance__lte=F("face_value")),
                                   name="gift_card_balance_within_face_value"),
            models.CheckConstraint(condition=Q(state="issued") | Q(activated_at__isnull=False),
                                   name="gift_card_active_has_time"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(state="active"),
                         name="gift_card_due_idx"),
        ]

    def __str__(self) -> str:
        return f"…{self.code[-4:]}"


class GiftCardEntry(AttributedRow):
    class Kind(models.TextChoices):
        ACTIVATE = "activate", _("Activated")
        SPEND = "spend", _("Spend")
        RETURN = "return", _("Given back on a return")
        EXPIRE = "expire", _("Expired")

    card = models.ForeignKey(GiftCard, models.PROTECT, related_name="entries",
                             verbose_name=_("gift card"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    amount = models.DecimalField(_("change"), **MONEY)
    order = models.ForeignKey(Order, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("order"))
    source_key = models.CharField(_("source key"), max_length=200, unique=True)
    request_hash = models.CharField(_("request hash"), max_length=64, blank=True)
    store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True, related_name="+",
                              db_index=False, verbose_name=_("store"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("gift card entry")
        verbose_name_plural = _("gift card entries")
        triggers = [append_only()]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["activate", "return"], amount__gt=0)
                           | Q(kind__in=["spend", "expire"], amount__lt=0)),
                name="gift_card_entry_sign_by_kind"),
        ]
        indexes = [models.Index(fields=["created_at"], name="gift_card_entry_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+}"
