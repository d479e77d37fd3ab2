"""Segments in the operator console: live count, preview, export and snapshots."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import ReadOnlyAdminMixin, permission_view
from core.errors import LoyaltyError
from core.export import csv_stream
from core.phones import mask_mobile

from ..models import (
    AccessEvent,
    Segment,
    SegmentSnapshot,
)
from ..selectors.segments import (
    segment_count,
    segment_display,
    segment_export_rows,
    segment_hints,
    segment_preview,
)
from ..services.access import access_record
from ..services.segments import segment_definition_store, segment_snapshot_take


class SegmentForm(forms.ModelForm):
    """The operator writes and reads the definition with tag names; the segment keeps it
    with tag ids (members.services.segments.segment_definition_store)."""

    class Meta:
        model = Segment
        fields = ("name", "code", "expression", "description")
        widgets = {"expression": forms.Textarea(attrs={"rows": 3, "cols": 90})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["expression"] = segment_display([self.instance.expression])[0]

    def clean_expression(self):
        try:
            return segment_definition_store(expression=self.cleaned_data["expression"])
        except LoyaltyError as exc:
            raise ValidationError(exc.message) from None


class SnapshotFormSet(forms.BaseInlineFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        snapshots = list(self.get_queryset())  # the objects the forms show
        for snapshot, text in zip(snapshots, segment_display([s.expression for s in snapshots])):
            snapshot.display_expression = text


class SnapshotInline(ReadOnlyAdminMixin, TabularInline):
    model = SegmentSnapshot
    formset = SnapshotFormSet
    fields = ("taken_at", "member_count", "definition")
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ("-taken_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-taken_at")

    @admin.display(description=_("definition"))
    def definition(self, obj: SegmentSnapshot) -> str:
        return getattr(obj, "display_expression", obj.expression)


class SegmentChangeList(ChangeList):
    """Shows each definition with the tags' current names, read for the whole page at once."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        texts = segment_display([segment.expression for segment in self.result_list])
        for segment, text in zip(self.result_list, texts):
            segment.display_expression = text


PREVIEW_ROWS = 20


def segment_live(expression: str) -> dict:
    """What the segment page shows beside the definition as it is typed: the count, the
    first members, and hints — or why the definition is wrong. Nothing for an empty one."""
    if not (expression or "").strip():
        return {"empty": True}
    try:
        count = segment_count(expression)
        members = segment_preview(expression, limit=PREVIEW_ROWS)
        hints = segment_hints(expression)
    except LoyaltyError as exc:
        return {"error": exc.message}
    return {"count": count, "hints": hints, "preview": [
        {"member_no": m.member_no, "name": m.name, "mobile": mask_mobile(m.mobile),
         "region": m.region, "url": reverse("admin:members_member_change", args=[m.pk])}
        for m in members]}


@admin.register(Segment)
class SegmentAdmin(ModelAdmin):
    """Edit a definition and see its count and first members as you type; export,
    snapshot."""

    form = SegmentForm
    list_display = ("name", "code", "definition", "updated_at")
    search_fields = ("name", "code")
    inlines = (SnapshotInline,)
    actions = ("take_snapshot",)
    change_form_template = "admin/members/segment/change_form.html"

    def get_urls(self):
        return [
            path("count/", permission_view(self.admin_site, self.count_view,
                                           "members.view_segment"),
                 name="members_segment_count"),
            path("<int:segment_id>/export/", permission_view(
                self.admin_site, self.export_view, "members.view_segment"),
                 name="members_segment_export"),
            path("<int:segment_id>/snapshot/", permission_view(
                self.admin_site, self.snapshot_view, "members.change_segment"),
                 name="members_segment_snapshot"),
        ] + super().get_urls()

    def get_changelist(self, request, **kwargs):
        return SegmentChangeList

    @admin.display(description=_("definition"))
    def definition(self, obj: Segment) -> str:
        return getattr(obj, "display_expression", obj.expression)

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        form = context["adminform"].form
        expression = (form.data.get("expression", "") if form.is_bound
                      else form.initial.get("expression", ""))
        live = segment_live(expression)
        context.update(segment_live=live, preview_rows=PREVIEW_ROWS, no_members=_("No members."),
                       segment_count_text=f"{live['count']:,}" if "count" in live else "–",
                       live_prompt=_("Write a definition: how many members it holds and the "
                                     "first of them show here as you type, before you save."))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        for hint in segment_hints(obj.expression):
            self.message_user(request, hint, messages.WARNING)

    def count_view(self, request):
        """The live count while the operator edits: the number, the first members and
        hints, or why the text is wrong."""
        live = segment_live(request.GET.get("expression", ""))
        return JsonResponse(live, status=400 if "error" in live else 200)

    def export_view(self, request, segment_id: int):
        segment = get_object_or_404(Segment, pk=segment_id)
        # recorded before the rows stream: an export begun is an export made
        access_record(kind=AccessEvent.Kind.MEMBER_EXPORT,
                      subject=f"segment {segment.code}: {segment.expression}")
        header = [gettext_now("id"), gettext_now("member number"), gettext_now("name"),
                  gettext_now("gender"), gettext_now("region"), gettext_now("home store")]
        rows = csv_stream(header, segment_export_rows(segment.expression))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.code}.csv"'
        return response

    def snapshot_view(self, request, segment_id: int):
        segment = get_object_or_404(Segment, pk=segment_id)
        if request.method == "POST" and self.has_change_permission(request, segment):
            snapshot = segment_snapshot_take(segment_id=segment.pk)
            self.message_user(request, _("Snapshot taken: %(n)d members.")
                              % {"n": snapshot.member_count}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:members_segment_change", args=[segment.pk]))

    @admin.action(description=_("Take a snapshot of the selected segments"),
                  permissions=["change"])
    def take_snapshot(self, request, queryset):
        for segment in queryset[:20]:
            snapshot = segment_snapshot_take(segment_id=segment.pk)
            self.message_user(request, _("%(segment)s: snapshot of %(n)d members.")
                              % {"segment": segment.name, "n": snapshot.member_count})
