"""KPI targets by campaign grade (DESIGN.md §2.4): editable defaults, one row per grade.

- sales vs a normal day: mean daily member net sales in the campaign's window ÷ the same
  mean over the 28 days before it (days inside other campaigns' windows left out);
- overall discount: Σ discounts ÷ Σ gross on members' sales in the window;
- frequency: at most `max_campaigns` campaigns of the grade per calendar month or week.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .campaign import Grade


class GradeTarget(models.Model):
    class Period(models.TextChoices):
        MONTH = "month", _("a month")
        WEEK = "week", _("a week")

    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, unique=True)
    sales_multiple = models.DecimalField(
        _("sales vs a normal day (×)"), max_digits=6, decimal_places=2,
        validators=[MinValueValidator(0)])
    discount_share = models.DecimalField(
        _("overall discount (share of gross)"), max_digits=5, decimal_places=4,
        validators=[MinValueValidator(0)], help_text=_("0.20 means 20%."))
    max_campaigns = models.PositiveSmallIntegerField(
        _("at most campaigns"), validators=[MinValueValidator(1)])
    period = models.CharField(_("per"), max_length=5, choices=Period.choices)

    class Meta:
        verbose_name = _("grade target")
        verbose_name_plural = _("grade targets")
        ordering = ["grade"]
        constraints = [
            models.CheckConstraint(condition=Q(sales_multiple__gte=0) & Q(discount_share__gte=0)
                                   & Q(discount_share__lte=1) & Q(max_campaigns__gte=1),
                                   name="grade_target_sane"),
        ]

    def __str__(self) -> str:
        return self.get_grade_display()
