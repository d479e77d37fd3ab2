"""Points given by one member to another (family accounts, gifts).

A transfer takes points from the sender's available lots in spending order — the soonest
expiring first — and puts each part into a new lot of the receiver's with the same expiry
date (`PointsLot.carried_from` names the lot it came from). Both members' ledgers show it:
one `transfer` entry each, under the transfer's key. Rows are never changed or deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import append_only
from members.models import Member, MemberNote

TRANSFER_KEY_LENGTH = 120


class PointsTransfer(models.Model):
    key = models.CharField(_("key"), max_length=TRANSFER_KEY_LENGTH, unique=True,
                           help_text=_("The caller's key: the same key again answers the "
                                       "first transfer."))
    sender = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("sender"))
    receiver = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                                 verbose_name=_("receiver"))
    points = models.BigIntegerField(_("points"))
    out_entry = models.OneToOneField("points.PointsEntry", models.PROTECT,
                                     related_name="transfer_out",
                                     verbose_name=_("sender's entry"))
    in_entry = models.OneToOneField("points.PointsEntry", models.PROTECT,
                                    related_name="transfer_in",
                                    verbose_name=_("receiver's entry"))
    local_date = models.DateField(_("day (Beijing)"))
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True,
                                 blank=True, related_name="+", verbose_name=_("operator"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"),
                              help_text=_("The integrator whose API key asked for it."))
    note = models.ForeignKey(MemberNote, models.PROTECT, null=True, blank=True,
                             related_name="+", db_index=False, verbose_name=_("note"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("points transfer")
        verbose_name_plural = _("points transfers")
        triggers = [append_only()]  # UPDATE and DELETE refused
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="points_transfer_positive"),
            models.CheckConstraint(condition=~Q(sender=F("receiver")),
                                   name="points_transfer_not_to_self"),
        ]
        indexes = [
            models.Index(fields=["sender", "local_date"], name="points_transfer_sent_idx"),
            models.Index(fields=["receiver", "local_date"], name="points_transfer_recv_idx"),
        ]

    def __str__(self) -> str:
        return str(_("Transfer of %(points)s points from #%(sender)s to #%(receiver)s") % {
            "points": self.points, "sender": self.sender_id, "receiver": self.receiver_id})
