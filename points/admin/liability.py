"""The liability report in the operator console: the figures and a bar chart per month."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin, permission_view
from core.formats import number

from ..models.liability import PointsMonthTotal
from ..selectors.liability import MonthFigures, liability_report

CHART_FIGURES = (("issued", _("Issued"), "#2e7d32"), ("redeemed", _("Redeemed"), "#1565c0"),
                 ("expired", _("Expired"), "#c62828"))
CHART_HEIGHT, BAR, GAP = 160, 14, 14
AXIS_LEFT, AXIS_TOP, AXIS_BOTTOM = 72, 8, 28  # room for the value and month labels
TICKS = 4


def nice_scale(top: int, ticks: int = TICKS) -> int:
    """The step of an axis with `ticks` steps reaching at least `top`, a round number:
    1, 2, 2.5 or 5 times a power of ten (top 830 → step 250, axis 0–1,000)."""
    if top <= 0:
        return 1
    magnitude = 10 ** (len(str(max(1, -(-top // ticks)))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        step = int(factor * magnitude) or 1
        if step * ticks >= top:
            return step
    return 10 * magnitude


def month_chart(months: list[MonthFigures], *, last: int = 12) -> dict:
    """Bars for the last `last` months — issued, redeemed, expired side by side — on an axis
    of round values with its ticks labelled, each group of bars under its month: coordinates
    an SVG in the template draws (no script needed)."""
    shown = months[-last:]
    top = max([getattr(m, f) for m in shown for f, _label, _colour in CHART_FIGURES] + [0])
    step = nice_scale(top)
    axis_max = step * TICKS
    group = BAR * len(CHART_FIGURES) + GAP
    groups = []
    for i, month in enumerate(shown):
        x = AXIS_LEFT + GAP + i * group
        bars = []
        for j, (figure, label, colour) in enumerate(CHART_FIGURES):
            value = max(getattr(month, figure), 0)
            height = round(value * CHART_HEIGHT / axis_max)
            bars.append({"x": x + j * BAR, "y": AXIS_TOP + CHART_HEIGHT - height,
                         "height": height, "value": value, "value_text": number(value),
                         "label": label, "colour": colour})
        groups.append({"label": f"{month.month:%Y-%m}", "x": x,
                       "centre": x + BAR * len(CHART_FIGURES) // 2, "bars": bars})
    ticks = [{"y": AXIS_TOP + CHART_HEIGHT - round(k * step * CHART_HEIGHT / axis_max),
              "label": number(k * step)} for k in range(TICKS + 1)]
    return {"groups": groups, "ticks": ticks, "left": AXIS_LEFT, "top": AXIS_TOP,
            "bottom": AXIS_TOP + CHART_HEIGHT, "width": AXIS_LEFT + GAP + len(shown) * group,
            "height": AXIS_TOP + CHART_HEIGHT + AXIS_BOTTOM, "bar": BAR,
            "legend": [{"label": label, "colour": colour}
                       for _figure, label, colour in CHART_FIGURES]}


@admin.register(PointsMonthTotal)
class LiabilityReportAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Not a list: the report page, for whoever may view the ledger."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_pointsentry")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_urls(self):
        # the month × kind rows are the report's working totals, not records to open
        opts = self.model._meta
        return [path("", permission_view(self.admin_site, self.changelist_view,
                                         "points.view_pointsentry"),
                     name=f"{opts.app_label}_{opts.model_name}_changelist")]

    def changelist_view(self, request, extra_context=None):
        report = liability_report()
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Points liability"), "report": report,
                   "chart": month_chart(report.months)}
        return TemplateResponse(request, "admin/points/liability.html", context)
