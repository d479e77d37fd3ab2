"""Orders in the operator console: read-only, searched by order number or member."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline

from core.admin import (
    ReadOnlyAdminMixin,
    ScaleAdmin,
)
from members.selectors.access import staff_store_ids
from members.selectors.orders import order_search

from ..models import (
    Order,
    OrderLine,
)


class OrderLineInline(ReadOnlyAdminMixin, TabularInline):
    model = OrderLine
    fk_name = "order"
    extra = 0
    fields = ("line_no", "sku", "category", "quantity", "gross_amount", "coupon_discount",
              "tier_discount", "other_discount", "points_cash", "net_amount", "original_line")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    """Orders enter only through the intake (API, counter, imports); here they are read."""

    list_display = ("order_no", "kind", "store", "member_link", "ordered_at", "net_amount")
    list_select_related = ("store", "member")
    list_filter = ("kind", "store")
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("order_no",)
    search_help_text = _("Order number, or a member's number, mobile or last four digits.")
    sortable_by = ("ordered_at",)
    ordering = ("-id",)
    inlines = (OrderLineInline,)
    readonly_fields = ("store", "order_no", "kind", "member", "original_order", "ordered_at",
                       "gross_amount", "coupon_discount", "tier_discount", "other_discount",
                       "points_cash", "net_amount", "created_at", "actor_user",
                       "actor_api_key_id")
    exclude = ("fingerprint",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("members.view_order")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        stores = staff_store_ids(request.user)
        return queryset if stores is None else queryset.filter(store_id__in=stores)

    @admin.display(description=_("member"))
    def member_link(self, obj: Order):
        url = reverse("admin:members_member_change", args=[obj.member_id])
        return format_html("<a href='{}'>{}</a>", url, obj.member.member_no)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return order_search(queryset, search_term), False
