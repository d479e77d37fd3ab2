"""Holds, partner programmes and the liability report in the operator console."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ScaleAdmin

from .hold_models import PointsHold
from .liability import liability_report
from .liability_models import PointsMonthTotal
from .partner_models import PartnerExchange, PartnerProgramme


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
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Points liability"), "report": liability_report()}
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
