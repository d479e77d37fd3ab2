"""The points ledger: append-only entries, per-member balances and the lots points live in.

Every balance on `PointsAccount` equals the sum of its column over the member's entries:
    available = Σ available_delta   pending = Σ pending_delta
    held      = Σ held_delta        debt    = Σ debt_delta
and, lot by lot, the points still in lots equal the balances they back:
    available = Σ remaining of available lots   pending = Σ remaining of pending lots
Every entry that puts points into a lot or takes them out says how many, lot by lot
(`PointsLotMovement`), so each lot is the sum of its movements:
    lot.remaining = Σ points of its movements   held = Σ held of the member's movements
Entries and movements are never updated or deleted (triggers refuse it); mistakes are
corrected with new entries. Each entry's `hash` chains it to the member's previous
entry (points.chain, core.chain) and the account keeps the last one in `chain_head`, so a
row changed or removed by someone who lifted the triggers is found (`verify_ledger`).
Entries carry only the member's id, never personal data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import AttributedRow, append_only
from members.models import Member, MemberNote, Order, Store


class PointsAccount(models.Model):
    member = models.OneToOneField(Member, models.PROTECT, primary_key=True,
                                  related_name="points_account", verbose_name=_("member"))
    available = models.BigIntegerField(_("available"), default=0)
    pending = models.BigIntegerField(_("pending"), default=0)
    held = models.BigIntegerField(_("held"), default=0)
    debt = models.BigIntegerField(_("debt"), default=0,
                                  help_text=_("Points reversed beyond the balance, collected "
                                              "first from the next earnings."))
    updated_at = models.DateTimeField(_("updated at"))
    chain_head = models.BinaryField(_("chain head"), null=True, blank=True, editable=False,
                                    help_text=_("The hash of the member's last entry."))

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(available__gte=0) & Q(pending__gte=0) & Q(held__gte=0)
                & Q(debt__gte=0),
                name="points_account_balances_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Points of member #%(member)s") % {"member": self.member_id})


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earn")
    SPEND = "spend", _("Spend")
    EXPIRE = "expire", _("Expire")
    REVERSE = "reverse", _("Reverse")
    ADJUST = "adjust", _("Adjustment")
    UNLOCK = "unlock", _("Unlock")
    REFUND = "refund", _("Refund")
    HOLD = "hold", _("Hold")
    CAPTURE = "capture", _("Capture")
    RELEASE = "release", _("Release")
    TRANSFER = "transfer", _("Transfer")
    CANCEL = "cancel", _("Spend cancelled")


class AdjustReason(models.TextChoices):
    """Why points were adjusted, as a code; what the person wrote is a `MemberNote`."""

    GOODWILL = "goodwill", _("Goodwill")
    CORRECTION = "correction", _("Correction of an error")
    COMPLAINT = "complaint", _("Complaint")
    MIGRATION = "migration", _("Balance carried over")
    OTHER = "other", _("Other")


class PointsEntry(AttributedRow):
    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"), db_index=False)
    kind = models.CharField(_("kind"), max_length=8, choices=EntryKind.choices)
    available_delta = models.BigIntegerField(_("available change"), default=0)
    pending_delta = models.BigIntegerField(_("pending change"), default=0)
    held_delta = models.BigIntegerField(_("held change"), default=0)
    debt_delta = models.BigIntegerField(_("debt change"), default=0)
    order = models.ForeignKey(Order, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("order"))
    lot = models.ForeignKey("PointsLot", models.PROTECT, null=True, blank=True,
                            related_name="entries", verbose_name=_("lot"))
    source_key = models.CharField(_("source key"), max_length=160, null=True, blank=True,
                                  unique=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True,
                                 blank=True, related_name="+", verbose_name=_("operator"))
    note = models.ForeignKey(MemberNote, models.PROTECT, null=True, blank=True,
                             related_name="+", db_index=False, verbose_name=_("note"),
                             help_text=_("What the person who made an adjustment wrote; "
                                         "erasure blanks it."))
    store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True, related_name="+",
                              db_index=False, verbose_name=_("store"))
    created_at = models.DateTimeField(_("time"))
    hash = models.BinaryField(_("hash"), null=True, blank=True, editable=False,
                              help_text=_("SHA-256 of this entry and the member's previous "
                                          "one (points.chain)."))

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            # One earning per sale, one reversal per return.
            models.UniqueConstraint(fields=["order"], condition=Q(kind="earn"),
                                    name="points_one_earning_per_sale"),
            models.UniqueConstraint(fields=["order"], condition=Q(kind="reverse"),
                                    name="points_one_reversal_per_return"),
            models.CheckConstraint(
                condition=~Q(kind="adjust") | (Q(operator__isnull=False) & ~Q(reason="")
                                               & Q(note__isnull=False)),
                name="points_adjustment_has_operator_reason_and_note",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="points_entry_member_idx"),
            models.Index(fields=["created_at"], name="points_entry_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.available_delta:+d}"

    @property
    def points(self) -> int:
        """The change this entry made to what the member has (available + pending)."""
        return self.available_delta + self.pending_delta


class PointsLot(models.Model):
    """A batch of earned points with its own unlock and expiry dates.

    Spending takes the soonest-expiring available lots first (lots that never expire last).
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        AVAILABLE = "available", _("Available")

    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    original = models.BigIntegerField(_("points earned"))
    remaining = models.BigIntegerField(_("points remaining"))
    order = models.ForeignKey(Order, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("order"))
    unlocks_at = models.DateTimeField(_("unlocks at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    carried_from = models.ForeignKey("self", models.PROTECT, null=True, blank=True,
                                     related_name="+", db_index=False,
                                     verbose_name=_("carried from"),
                                     help_text=_("The sender's lot a transfer took these "
                                                 "points from, expiry date and all."))
    created_at = models.DateTimeField(_("earned at"))

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("original")),
                                   name="points_lot_remaining_within_original"),
            models.CheckConstraint(condition=~Q(state="pending") | Q(unlocks_at__isnull=False),
                                   name="points_lot_pending_has_unlock_time"),
        ]
        indexes = [
            # spending order: soonest expiry first, never-expiring last
            models.Index(fields=["member", "state", "expires_at", "id"],
                         condition=Q(remaining__gt=0), name="points_lot_spend_idx"),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0) & Q(state="available"),
                         name="points_lot_expiry_idx"),
            models.Index(fields=["unlocks_at"], condition=Q(state="pending") & Q(remaining__gt=0),
                         name="points_lot_unlock_idx"),
            # every lot of a member, emptied ones too (a member's lots on a past day)
            models.Index(fields=["member", "id"], name="points_lot_member_idx"),
        ]

    def __str__(self) -> str:
        return str(_("Lot #%(lot)s: %(remaining)s of %(original)s points left") % {
            "lot": self.pk, "remaining": self.remaining, "original": self.original})


class PointsLotMovement(models.Model):
    """How many points one entry put into or took out of one lot.

    A spend of 300 from lots of 200 and 500 writes −200 and −100; a hold moves the same
    amounts from the lots into `held` (points −, held +), its capture takes them out of
    `held`, a release puts them back. Written only by the ledger-posting path
    (points.services.posting.post) and the set-based jobs, never updated or deleted. Rows without an
    entry carry over what each lot held when movements began to be recorded.
    """

    entry = models.ForeignKey(PointsEntry, models.PROTECT, null=True, blank=True,
                              related_name="lot_movements",
                              verbose_name=pgettext_lazy("ledger entry", "entry"),
                              db_index=False)  # (entry, lot) is unique
    lot = models.ForeignKey(PointsLot, models.PROTECT, related_name="movements",
                            verbose_name=_("lot"), db_index=False)  # (lot, id) is indexed
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    points = models.BigIntegerField(_("change to the lot"), default=0)
    held = models.BigIntegerField(_("change to points held"), default=0)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("lot movement")
        verbose_name_plural = _("lot movements")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            models.UniqueConstraint(fields=["entry", "lot"], name="points_lot_movement_once"),
            models.CheckConstraint(condition=~Q(points=0) | ~Q(held=0),
                                   name="points_lot_movement_moves"),
        ]
        indexes = [
            models.Index(fields=["lot", "id"], name="points_lot_movement_lot_idx"),
            models.Index(fields=["member", "id"], name="points_lot_movement_member_idx"),
            # when the movements began: the carry-over rows (points.selectors.as_of)
            models.Index(fields=["created_at"], condition=Q(entry__isnull=True),
                         name="points_lot_movement_carry_idx"),
        ]

    def __str__(self) -> str:
        return f"lot {self.lot_id}: {self.points:+d}"


class ExpiryNotice(models.Model):
    """Append-only: a member was told that points expire on a (Beijing) day — one row per
    member and day, written by the daily job `points_expiry_notices` once the day comes
    within `expiry_warning_days`, with the points due to expire then. The commit-ordered feed
    reads it (webhooks: points expiring soon)."""

    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    expires_on = models.DateField(_("expires on"))
    points = models.BigIntegerField(_("points expiring"))
    created_at = models.DateTimeField(_("noticed at"))

    class Meta:
        verbose_name = _("points expiry notice")
        verbose_name_plural = _("points expiry notices")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            models.UniqueConstraint(fields=["member", "expires_on"], name="expiry_notice_once"),
            models.CheckConstraint(condition=Q(points__gt=0), name="expiry_notice_points"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}:{self.expires_on}:{self.points}"
