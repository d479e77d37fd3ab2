"""The ledger in the operator console: read-only, filterable, fast at 100M entries."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline

from core.admin import ReadOnlyAdminMixin, ScaleAdmin, link, permission_view
from core.errors import LoyaltyError
from core.formats import number
from core.text import multiline_text
from members.admin.search import MemberSearchMixin, member_link

from ..models import (
    EntryKind,
    EntryLine,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsLotMovement,
    RuleAward,
)
from ..reasons import reason_with_note
from ..services.spend_cancel import points_spend_cancel, spend_cancelled


class CancelSpendForm(forms.Form):
    reason = forms.CharField(label=_("note"), max_length=200, validators=[multiline_text],
                             help_text=_("Required. Kept as a note beside the cancelling "
                                         "entry, with your name."))


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
              "actor_api_key_id", "store", "created_at", "cancel_link")
    readonly_fields = ("reason_text", "cancel_link")
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

    @admin.display(description=_("cancel"))
    def cancel_link(self, obj: PointsEntry):
        if obj.kind != EntryKind.SPEND or spend_cancelled(obj.pk):
            return "-"
        return link(reverse("admin:points_pointsentry_cancel_spend", args=[obj.pk]),
                    _("Cancel this spend"), "points.add_pointsentry", css_class="button") or "-"

    def get_urls(self):
        return [
            path("<int:entry_id>/cancel-spend/", permission_view(
                self.admin_site, self.cancel_spend, "points.add_pointsentry"),
                 name="points_pointsentry_cancel_spend"),
        ] + super().get_urls()

    def cancel_spend(self, request, entry_id: int):
        """Two steps: the form, then a confirmation naming the lots the points go back to."""
        spend = PointsEntry.objects.filter(pk=entry_id).select_related("member").first()
        if spend is None:
            raise Http404
        form = CancelSpendForm(request.POST or None)
        confirming = False
        if spend.kind != EntryKind.SPEND:
            form = None  # only a spend is cancelled here: the page says so
        elif request.method == "POST" and form.is_valid():
            if "confirm" in request.POST:
                try:
                    points_spend_cancel(member_id=spend.member_id, entry_id=spend.pk,
                                        note=form.cleaned_data["reason"],
                                        operator_id=request.user.pk, now=timezone.now())
                except LoyaltyError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(request, _("The spend is cancelled: %(points)s points "
                                                 "are back in their lots.")
                                      % {"points": -spend.available_delta}, messages.SUCCESS)
                    return redirect(reverse("admin:points_pointsentry_change",
                                            args=[spend.pk]))
            else:
                confirming = True
        lots = (PointsLotMovement.objects.filter(entry_id=spend.pk, points__lt=0)
                .select_related("lot").order_by("lot_id"))
        return TemplateResponse(request, "admin/points/cancel_spend.html", {
            **self.admin_site.each_context(request), "opts": PointsEntry._meta,
            "spend": spend, "points": -spend.available_delta, "form": form,
            "confirming": confirming, "lots": [(m.lot, -m.points) for m in lots],
            "title": _("Cancel a spend"),
        })


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
