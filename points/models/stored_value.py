"""Stored value (储值): a member's prepaid balance in yuan, its append-only money ledger and
the bonus a top-up earns.

A member tops up ¥500 under the rule "充500送50": the account gains ¥500 of principal and
¥50 of bonus, the bonus in a lot of its own that expires when the rule says. The balances
on `StoredValueAccount` always equal the sums of their ledger columns:

    principal = Σ principal_delta        bonus = Σ bonus_delta
    bonus     = Σ remaining of the member's bonus lots
    lot.remaining = Σ amount of its movements

Entries and movements are never updated or deleted (triggers refuse it); the balances carry
CHECKs, so no path can leave them below zero. Entries carry only the member's id.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import OneLineField
from core.models import AttributedRow, append_only
from members.models import Member, Order, Store

MONEY = {"max_digits": 12, "decimal_places": 2}


class StoredValueAccount(models.Model):
    member = models.OneToOneField(Member, models.PROTECT, primary_key=True,
                                  related_name="stored_value", verbose_name=_("member"))
    principal = models.DecimalField(_("principal"), default=Decimal("0.00"), **MONEY,
                                    help_text=_("What the member paid in and may have refunded."))
    bonus = models.DecimalField(_("bonus"), default=Decimal("0.00"), **MONEY,
                                help_text=_("Given with top-ups; spendable, never refunded, "
                                            "expires."))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("stored-value account")
        verbose_name_plural = _("stored-value accounts")
        constraints = [
            models.CheckConstraint(condition=Q(principal__gte=0) & Q(bonus__gte=0),
                                   name="stored_value_balances_not_negative"),
        ]

    def __str__(self) -> str:
        return str(_("Stored value of member #%(member)s") % {"member": self.member_id})

    @property
    def balance(self) -> Decimal:
        return self.principal + self.bonus


class StoredValueKind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    SPEND = "spend", _("Spend")
    REFUND = "refund", _("Refund of principal")
    RETURN = "return", _("Given back on a return")
    EXPIRE = "expire", _("Bonus expired")


class StoredValueEntry(AttributedRow):
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=8, choices=StoredValueKind.choices)
    principal_delta = models.DecimalField(_("principal change"), default=Decimal("0.00"),
                                          **MONEY)
    bonus_delta = models.DecimalField(_("bonus change"), default=Decimal("0.00"), **MONEY)
    order = models.ForeignKey(Order, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("order"))
    lot = models.ForeignKey("StoredValueBonusLot", models.PROTECT, null=True, blank=True,
                            related_name="+", db_index=False, verbose_name=_("bonus lot"),
                            help_text=_("The lot an expiry emptied."))
    rule = models.ForeignKey("TopUpBonusRule", models.PROTECT, null=True, blank=True,
                             related_name="+", db_index=False, verbose_name=_("bonus rule"))
    source_key = models.CharField(_("source key"), max_length=200, unique=True)
    request_hash = models.CharField(_("request hash"), max_length=64, blank=True,
                                    help_text=_("What the key was first used for, so a key "
                                                "used again for something else is refused."))
    store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True, related_name="+",
                              db_index=False, verbose_name=_("store"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("stored-value entry")
        verbose_name_plural = _("stored-value entries")
        triggers = [append_only()]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="top_up", principal_delta__gt=0, bonus_delta__gte=0)
                           | Q(kind="spend", principal_delta__lte=0, bonus_delta__lte=0)
                           | Q(kind="refund", principal_delta__lt=0, bonus_delta__lte=0)
                           | Q(kind="return", principal_delta__gte=0, bonus_delta__gte=0)
                           | Q(kind="expire", principal_delta=0, bonus_delta__lt=0)),
                name="stored_value_entry_signs_by_kind"),
            models.CheckConstraint(condition=~Q(kind="spend")
                                   | Q(principal_delta__lt=0) | Q(bonus_delta__lt=0),
                                   name="stored_value_spend_takes_something"),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="sv_entry_member_idx"),
            models.Index(fields=["created_at"], name="sv_entry_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.principal_delta + self.bonus_delta:+}"

    @property
    def amount(self) -> Decimal:
        return self.principal_delta + self.bonus_delta


class StoredValueBonusLot(models.Model):
    """The bonus of one top-up, with its expiry; spending takes the soonest-expiring first."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    entry = models.OneToOneField(StoredValueEntry, models.PROTECT, related_name="bonus_lot",
                                 verbose_name=pgettext_lazy("ledger entry", "entry"))
    original = models.DecimalField(_("bonus given"), **MONEY)
    remaining = models.DecimalField(_("remaining"), **MONEY)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("bonus lot")
        verbose_name_plural = _("bonus lots")
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0)
                                   & Q(remaining__lte=F("original")),
                                   name="stored_value_lot_within_original"),
        ]
        indexes = [
            models.Index(fields=["member", "expires_at"], condition=Q(remaining__gt=0),
                         name="sv_lot_member_open_idx"),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0),
                         name="sv_lot_due_idx"),
        ]

    def __str__(self) -> str:
        return f"¥{self.remaining} / ¥{self.original}"


class StoredValueBonusMovement(models.Model):
    """What an entry put into or took out of a bonus lot."""

    entry = models.ForeignKey(StoredValueEntry, models.PROTECT, related_name="movements",
                              verbose_name=pgettext_lazy("ledger entry", "entry"))
    lot = models.ForeignKey(StoredValueBonusLot, models.PROTECT, related_name="movements",
                            verbose_name=_("bonus lot"))
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("bonus movement")
        verbose_name_plural = _("bonus movements")
        triggers = [append_only()]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="sv_movement_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+}"


class TopUpBonusRule(models.Model):
    """A top-up offer as data: "充500送50" is a minimum of ¥500 and a bonus of ¥50. A top-up
    earns the bonus of the active rule with the highest minimum it reaches."""

    name = OneLineField(_("name"), max_length=100)
    min_amount = models.DecimalField(_("minimum top-up"), **MONEY)
    bonus = models.DecimalField(_("bonus"), **MONEY)
    bonus_valid_days = models.PositiveIntegerField(
        _("bonus valid for (days)"), null=True, blank=True, default=365,
        help_text=_("The bonus expires at the end of this many days (Beijing calendar) after "
                    "the top-up; empty means it never expires."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("top-up bonus rule")
        verbose_name_plural = _("top-up bonus rules")
        ordering = ["min_amount"]
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0) & Q(bonus__gt=0),
                                   name="topup_rule_positive"),
            models.UniqueConstraint(fields=["min_amount"], condition=Q(active=True),
                                    name="topup_rule_one_active_per_minimum"),
        ]

    def __str__(self) -> str:
        return str(_("Top up ¥%(min)s, get ¥%(bonus)s") % {"min": self.min_amount,
                                                             "bonus": self.bonus})
