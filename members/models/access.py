"""Who may see what of a member: the stores a staff account acts for, the record of reads
that matter (access events), and the notes people type about members, kept apart from the
append-only rows so that erasure can blank them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineCharField
from core.models import AttributedRow, append_only


class StoreStaff(models.Model):
    """A staff account bound to a store. Someone without the permission to act for every
    store (a clerk) sees and edits only the members and orders of the stores they are bound
    to; a programme admin sets this on the user's page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="store_links",
                             verbose_name=_("staff account"))
    store = models.ForeignKey("members.Store", models.PROTECT, related_name="staff_links",
                              verbose_name=_("store"))

    class Meta:
        verbose_name = _("store of a staff account")
        verbose_name_plural = _("stores of the staff account")
        constraints = [models.UniqueConstraint(fields=["user", "store"],
                                               name="store_staff_once")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.store_id}"


class AccessEvent(AttributedRow):
    """A read that matters: a full mobile number revealed, members exported. Append-only
    (`append_only()` refuses UPDATE and DELETE); who, when and what, never the data itself."""

    class Kind(models.TextChoices):
        MOBILE_REVEAL = "mobile_reveal", _("Mobile number revealed")
        MEMBER_EXPORT = "member_export", _("Members exported")
        PERSONAL_DATA_EXPORT = "personal_export", _("Personal data exported")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    member = models.ForeignKey("members.Member", models.PROTECT, null=True, blank=True,
                               related_name="+", db_index=False, verbose_name=_("member"))
    subject = models.CharField(_("what"), max_length=200, blank=True,
                               help_text=_("What was read, e.g. the segment exported."))
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        triggers = [append_only()]  # UPDATE and DELETE refused
        indexes = [
            models.Index(fields=["member", "-id"], name="access_event_member_idx"),
            models.Index(fields=["created_at"], name="access_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class MemberNote(models.Model):
    """Text a person typed about a member (why points were adjusted or spent, why a coupon
    was voided). Append-only rows point here instead of carrying the text, so erasing a
    member blanks the note and leaves the ledger whole."""

    member = models.ForeignKey("members.Member", models.PROTECT, null=True, blank=True,
                               related_name="+", db_index=False, verbose_name=_("member"),
                               help_text=_("Empty for a note about a coupon not yet issued "
                                           "to anyone."))
    text = MultiLineCharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("written by"))
    created_at = models.DateTimeField(_("time"))
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("member note")
        verbose_name_plural = _("member notes")
        indexes = [models.Index(fields=["member", "-id"], name="member_note_member_idx")]

    def __str__(self) -> str:
        return self.text if self.erased_at is None else "—"
