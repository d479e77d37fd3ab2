"""What `verify_ledger` found: each account's checkpoint (how far its chain and sums were
last found right) and each run's result, the latest shown on the dashboard and in
/healthz/detail (points.services.verify)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Member


class LedgerCheckpoint(models.Model):
    """An account found right up to `last_entry_id`: the hash of that entry and the sums of
    the entries up to it. An incremental run starts each changed account's walk here."""

    member = models.OneToOneField(Member, models.PROTECT, primary_key=True, related_name="+",
                                  verbose_name=_("member"))
    last_entry_id = models.BigIntegerField(_("last entry checked"), default=0)
    last_hash = models.BinaryField(_("hash of the last entry checked"), null=True)
    available = models.BigIntegerField(_("available"), default=0)
    pending = models.BigIntegerField(_("pending"), default=0)
    held = models.BigIntegerField(_("held"), default=0)
    debt = models.BigIntegerField(_("debt"), default=0)
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        verbose_name = _("ledger checkpoint")
        verbose_name_plural = _("ledger checkpoints")


class LedgerVerification(models.Model):
    """One run of `verify_ledger`: what it read and every account that differed, each with
    its problems as codes and figures (`differences`: [{"member": id, "problems": [{"code",
    "detail"}]}])."""

    full = models.BooleanField(_("full run"), default=False)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    accounts_checked = models.BigIntegerField(_("accounts checked"), default=0)
    entries_checked = models.BigIntegerField(_("entries checked"), default=0)
    differing_accounts = models.IntegerField(_("accounts that differ"), default=0)
    differences = models.JSONField(_("differences"), default=list, blank=True)

    class Meta:
        verbose_name = _("ledger verification")
        verbose_name_plural = _("ledger verifications")
        indexes = [models.Index(fields=["-finished_at"], name="points_verify_finished_idx")]

    def __str__(self) -> str:
        return str(_("Ledger check #%(id)s") % {"id": self.pk})

    @property
    def clean(self) -> bool:
        return self.finished_at is not None and self.differing_accounts == 0
