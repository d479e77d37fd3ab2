"""The check-in pages: the settings (streak cycle, make-up cost and monthly limit) and the
check-ins, read-only, with the figures of the day."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, ScaleAdmin, SingletonAdmin
from members.admin.search import MemberSearchMixin

from ..models import CheckIn, CheckinSettings


@admin.register(CheckinSettings)
class CheckinSettingsAdmin(SingletonAdmin):
    pass


@admin.register(CheckIn)
class CheckInAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("member", "day", "kind", "streak", "cycle_day", "cost_points",
                    "created_at")
    list_filter = ("kind",)
    list_select_related = ("member",)
    date_hierarchy = "day"
    show_facets = admin.ShowFacets.NEVER
