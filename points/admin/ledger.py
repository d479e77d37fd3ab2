"""The ledger in the operator console: read-only, filterable, fast at 100M entries."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from core.formats import number
from members.admin.search import MemberSearchMixin, member_link

from ..models import (
    EntryLine,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsLotMovement,
    RuleAward,
)
from ..reasons import reason_with_note


class RuleAwardInline(ReadOnlyAdminMixin, TabularInline):
    """Why the entry has its points: the rule versions that paid them, as they were then."""

    model = RuleAward
    fields = ("rule", "points", "detail", "local_date")
    readonly_fields = fields
    extra = 0
    verbose_name = _("rule that paid")
    verbose_name_plural = _("why: the rules that paid")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rule")


class EntryLineInline(ReadOnlyAdminMixin, TabularInline):
    model = EntryLine
    fields = ("line", "line_points")
    readonly_fields = fields
    extra = 0
    verbose_name = _("order line")
    verbose_name_plural = _("points per order line")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")

    @admin.display(description=_("order line"))
    def line(self, obj: EntryLine) -> str:
        return str(obj.order_line)

    @admin.display(description=_("points"))
    def line_points(self, obj: EntryLine) -> str:
        return number(obj.points)


class LotMovementInline(ReadOnlyAdminMixin, TabularInline):
    """Which lots the entry put points into or took them out of, and how many."""

    model = PointsLotMovement
    fields = ("lot", "points", "held")
    readonly_fields = fields
    extra = 0


@admin.register(PointsEntry)
class PointsEntryAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    inlines = (RuleAwardInline, EntryLineInline, LotMovementInline)
    list_display = ("id", "created_at", "member_no", "kind", "available_delta", "pending_delta",
                    "debt_delta", "order", "reason_text", "actor_user", "actor_api_key_id",
                    "store")
    list_select_related = ("member", "order", "order__store", "actor_user", "store", "note")
    fields = ("member", "kind", "available_delta", "pending_delta", "held_delta", "debt_delta",
              "order", "lot", "source_key", "reason_text", "operator", "actor_user",
              "actor_api_key_id", "store", "created_at")
    readonly_fields = ("reason_text",)
    list_filter = ("kind", ("created_at", admin.DateFieldListFilter))
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_pointsentry")

    @admin.display(description=_("member"))
    def member_no(self, obj: PointsEntry):
        return member_link(obj.member_id, obj.member.member_no)

    @admin.display(description=_("reason"))
    def reason_text(self, obj: PointsEntry) -> str:
        return reason_with_note(obj.reason, obj.note)


@admin.register(PointsLot)
class PointsLotAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "member_no", "state", "original", "remaining", "unlocks_at",
                    "expires_at", "created_at")
    list_select_related = ("member",)
    list_filter = ("state",)
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_pointslot")

    @admin.display(description=_("member"))
    def member_no(self, obj: PointsLot):
        return member_link(obj.member_id, obj.member.member_no)


@admin.register(PointsAccount)
class PointsAccountAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("member_no", "available", "pending", "held", "debt", "updated_at")
    list_select_related = ("member",)
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-member_id",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_pointsaccount")

    @admin.display(description=_("member"))
    def member_no(self, obj: PointsAccount):
        return member_link(obj.member_id, obj.member.member_no)
