from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FeedCursor(models.Model):
    """How far one reader has read one history table of the commit-ordered feed.

    The position is the (txid, id) of the last row handed on: the next read takes the rows
    after it in (txid, id) order, only from transactions older than every transaction still
    running — so a row is never read before it commits, and a row committed late by an old
    transaction is still ahead of the cursor when it appears. One row per reader (e.g. a
    campaign's event trigger); the reader locks it while it reads and acts."""

    name = models.CharField(_("reader"), max_length=64, unique=True)
    source = models.CharField(_("history table"), max_length=32)
    last_txid = models.BigIntegerField(_("last transaction id"))
    last_id = models.BigIntegerField(_("last row id"))
    rows_read = models.BigIntegerField(_("rows read"), default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("feed cursor")
        verbose_name_plural = _("feed cursors")
        constraints = [
            models.CheckConstraint(condition=Q(last_txid__gte=0) & Q(last_id__gte=0),
                                   name="feed_cursor_position_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.source}) @ {self.last_txid}/{self.last_id}"
