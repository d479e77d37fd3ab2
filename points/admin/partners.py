"""Partner programmes and their exchanges in the operator console."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from members.admin.search import member_link

from ..models.partners import PartnerExchange, PartnerProgramme


@admin.register(PartnerProgramme)
class PartnerProgrammeAdmin(ModelAdmin):
    list_display = ("code", "name", "rate_in", "rate_out", "member_daily_limit_in",
                    "member_daily_limit_out", "daily_limit_in", "daily_limit_out", "is_active")


@admin.register(PartnerExchange)
class PartnerExchangeAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "partner", "member_no", "direction", "external_id", "partner_points",
                    "points", "local_date", "created_at")
    list_select_related = ("partner", "member")
    list_filter = ("direction", "partner")
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=external_id",)
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description=_("member"))
    def member_no(self, obj: PartnerExchange):
        return member_link(obj.member_id, obj.member.member_no)
