"""The ledger rolled up by Beijing month and entry kind, for the liability report.

`PointsMonthTotal` holds the sums of every entry up to `PointsRollupCursor.last_entry_id`;
entries after the cursor are summed live. The rollup advances only to a watermark below
which every entry id has committed, so no entry is skipped or counted twice.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PointsMonthTotal(models.Model):
    month = models.DateField(_("month"), help_text=_("First day of the month, Beijing time."))
    kind = models.CharField(_("kind"), max_length=8)
    entries = models.BigIntegerField(_("entries"), default=0)
    available = models.BigIntegerField(_("available change"), default=0)
    pending = models.BigIntegerField(_("pending change"), default=0)
    held = models.BigIntegerField(_("held change"), default=0)
    debt = models.BigIntegerField(_("debt change"), default=0)

    class Meta:
        verbose_name = _("points liability")
        verbose_name_plural = _("points liability")
        constraints = [models.UniqueConstraint(fields=["month", "kind"],
                                               name="points_month_total_once")]

    def __str__(self) -> str:
        from . import EntryKind

        kind = EntryKind(self.kind).label if self.kind in EntryKind.values else self.kind
        return f"{self.month:%Y-%m} {kind}"


class PointsRollupCursor(models.Model):
    """One row: the last ledger entry id included in `PointsMonthTotal`."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    last_entry_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("points rollup cursor")
        verbose_name_plural = _("points rollup cursor")
