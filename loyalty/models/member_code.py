"""Dynamic member codes: the nonces of the codes the counter has accepted, so each code is
accepted once (UNIQUE nonce, shared by every process)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Member


class MemberCodeUse(models.Model):
    nonce = models.CharField(_("nonce"), max_length=32, unique=True)
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    used_at = models.DateTimeField(_("used at"))

    class Meta:
        verbose_name = _("member code use")
        verbose_name_plural = _("member code uses")
        indexes = [models.Index(fields=["used_at"], name="member_code_use_at_idx")]

    def __str__(self) -> str:
        return self.nonce
