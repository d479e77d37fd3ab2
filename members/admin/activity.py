"""The activity log in the operator console (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.admin import (
    ReadOnlyAdminMixin,
    ScaleAdmin,
)
from members.selectors import members as selectors

from ..models import (
    MemberActivity,
)


@admin.register(MemberActivity)
class MemberActivityAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("occurred_at", "kind", "name", "member", "source_key")
    list_select_related = ("member",)
    list_filter = ("kind",)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("source_key",)
    search_help_text = _("Event id, or a member's number or mobile.")
    ordering = ("-id",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("members.view_memberactivity")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        members = selectors.member_ids_matching(term)
        return queryset.filter(Q(source_key=term) | Q(member_id__in=members)), False
