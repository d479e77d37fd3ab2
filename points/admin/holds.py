"""Checkout holds in the operator console (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from members.admin.search import member_link

from ..models.holds import PointsHold


@admin.register(PointsHold)
class PointsHoldAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "member_no", "points", "captured", "state", "reference",
                    "expires_at", "created_at", "closed_at")
    list_select_related = ("member",)
    list_filter = ("state",)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=member__member_no",)
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description=_("member"))
    def member_no(self, obj: PointsHold):
        return member_link(obj.member_id, obj.member.member_no)
