"""Stored value in the operator console: the top-up bonus rules (data, edited), the accounts
and the ledger (read-only), and the prepaid liability report."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin, ScaleAdmin, permission_view
from members.admin.search import MemberSearchMixin, member_link

from ..models.stored_value import (
    StoredValueAccount,
    StoredValueBonusLot,
    StoredValueEntry,
    TopUpBonusRule,
)
from ..selectors.prepaid import prepaid_report


@admin.register(TopUpBonusRule)
class TopUpBonusRuleAdmin(ModelAdmin):
    """充500送50 as data: a top-up earns the bonus of the active rule with the highest minimum
    it reaches. Rules are switched off, never deleted (entries name the rule that paid)."""

    list_display = ("name", "min_amount", "bonus", "bonus_valid_days", "active")
    list_filter = ("active",)
    fields = ("name", "min_amount", "bonus", "bonus_valid_days", "active")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StoredValueAccount)
class StoredValueAccountAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("member_no", "principal", "bonus", "updated_at")
    list_select_related = ("member",)
    ordering = ("-updated_at",)
    sortable_by = ()

    @admin.display(description=_("member"))
    def member_no(self, obj: StoredValueAccount):
        return member_link(obj.member_id, obj.member.member_no)


@admin.register(StoredValueEntry)
class StoredValueEntryAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "created_at", "member_no", "kind", "principal_delta", "bonus_delta",
                    "order", "store", "actor_user", "actor_api_key_id")
    list_select_related = ("member", "order", "order__store", "store", "actor_user")
    fields = ("member", "kind", "principal_delta", "bonus_delta", "order", "lot", "rule",
              "source_key", "store", "actor_user", "actor_api_key_id", "created_at")
    list_filter = ("kind", ("created_at", admin.DateFieldListFilter))
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description=_("member"))
    def member_no(self, obj: StoredValueEntry):
        return member_link(obj.member_id, obj.member.member_no)


@admin.register(StoredValueBonusLot)
class PrepaidReportAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Not a list: the prepaid liability report, for whoever may view the stored-value
    ledger (finance, auditors, operators)."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_storedvalueentry")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_urls(self):
        opts = self.model._meta
        return [path("", permission_view(self.admin_site, self.changelist_view,
                                         "points.view_storedvalueentry"),
                     name=f"{opts.app_label}_{opts.model_name}_changelist")]

    def changelist_view(self, request, extra_context=None):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Prepaid liability"), "report": prepaid_report()}
        return TemplateResponse(request, "admin/points/prepaid.html", context)
