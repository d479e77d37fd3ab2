"""Holds, partner programmes and the liability report in the operator console."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ScaleAdmin

from .hold_models import PointsHold
from .liability import MonthFigures, liability_report
from .liability_models import PointsMonthTotal
from .partner_models import PartnerExchange, PartnerProgramme

CHART_FIGURES = (("issued", _("Issued"), "#2e7d32"), ("redeemed", _("Redeemed"), "#1565c0"),
                 ("expired", _("Expired"), "#c62828"))
CHART_HEIGHT, BAR, GAP = 160, 14, 14


def month_chart(months: list[MonthFigures], *, last: int = 12) -> dict:
    """Bars for the last `last` months — issued, redeemed, expired side by side — scaled to
    the largest, as coordinates an SVG in the template draws (no script needed)."""
    shown = months[-last:]
    top = max([getattr(m, f) for m in shown for f, _label, _colour in CHART_FIGURES] + [1])
    group = BAR * len(CHART_FIGURES) + GAP
    groups = []
    for i, month in enumerate(shown):
        bars = []
        for j, (figure, label, colour) in enumerate(CHART_FIGURES):
            value = max(getattr(month, figure), 0)
            height = round(value * CHART_HEIGHT / top)
            bars.append({"x": GAP + i * group + j * BAR, "y": CHART_HEIGHT - height,
                         "height": height, "value": value, "label": label, "colour": colour})
        groups.append({"label": f"{month.month:%Y-%m}", "x": GAP + i * group, "bars": bars})
    return {"groups": groups, "width": GAP + len(shown) * group, "height": CHART_HEIGHT,
            "bar": BAR, "legend": [{"label": label, "colour": colour}
                                   for _figure, label, colour in CHART_FIGURES]}


@admin.register(PointsHold)
class PointsHoldAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "member_id", "points", "captured", "state", "reference",
                    "expires_at", "created_at", "closed_at")
    list_filter = ("state",)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=member__member_no",)
    ordering = ("-id",)
    sortable_by = ("id",)


@admin.register(PointsMonthTotal)
class LiabilityReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Not a list: the report page, for whoever may view the ledger."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_pointsentry")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        report = liability_report()
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Points liability"), "report": report,
                   "chart": month_chart(report.months)}
        return TemplateResponse(request, "admin/points/liability.html", context)


@admin.register(PartnerProgramme)
class PartnerProgrammeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "rate_in", "rate_out", "member_daily_limit_in",
                    "member_daily_limit_out", "daily_limit_in", "daily_limit_out", "is_active")


@admin.register(PartnerExchange)
class PartnerExchangeAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "partner", "member_id", "direction", "external_id", "partner_points",
                    "points", "local_date", "created_at")
    list_select_related = ("partner",)
    list_filter = ("direction", "partner")
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=external_id",)
    ordering = ("-id",)
    sortable_by = ("id",)
