"""The growth records in the operator console (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from members.admin.search import MemberSearchMixin, member_link

from ..models import GrowthEntry


@admin.register(GrowthEntry)
class GrowthEntryAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "created_at", "member_no", "kind", "delta", "order", "reason_text")
    list_select_related = ("member", "order", "order__store")
    fields = ("member", "kind", "delta", "order", "source_key", "reason_text", "created_at")
    readonly_fields = ("reason_text",)
    list_filter = ("kind", ("created_at", admin.DateFieldListFilter))
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description=_("member"))
    def member_no(self, obj: GrowthEntry):
        return member_link(obj.member_id, obj.member.member_no)

    @admin.display(description=_("reason"))
    def reason_text(self, obj: GrowthEntry) -> str:
        return obj.reason_text
