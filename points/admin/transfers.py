"""Transfers between members in the operator console: read-only; a transfer is made on the
sender's member page."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from core.formats import number
from members.admin.search import member_link
from members.selectors.members import member_ids_matching

from ..models import PointsTransfer
from ..reasons import reason_with_note


@admin.register(PointsTransfer)
class PointsTransferAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "created_at", "sender_no", "receiver_no", "transferred", "note_text",
                    "operator")
    list_select_related = ("sender", "receiver", "operator", "note")
    fields = ("sender", "receiver", "points", "out_entry", "in_entry", "local_date",
              "operator", "owner", "note_text", "created_at")
    readonly_fields = ("note_text",)
    search_fields = ("sender__member_no",)
    search_help_text = _("The sender's or the receiver's number, mobile or its last four "
                         "digits.")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_pointstransfer")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        ids = member_ids_matching(term)
        return queryset.filter(Q(sender_id__in=ids) | Q(receiver_id__in=ids)), False

    @admin.display(description=_("sender"))
    def sender_no(self, obj: PointsTransfer):
        return member_link(obj.sender_id, obj.sender.member_no)

    @admin.display(description=_("receiver"))
    def receiver_no(self, obj: PointsTransfer):
        return member_link(obj.receiver_id, obj.receiver.member_no)

    @admin.display(description=_("points"))
    def transferred(self, obj: PointsTransfer) -> str:
        return number(obj.points)

    @admin.display(description=_("note"))
    def note_text(self, obj: PointsTransfer) -> str:
        return reason_with_note("", obj.note)
