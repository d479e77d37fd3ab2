"""The operator console for statistics, RFM, tag rules, tag history and segments."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from core.errors import LoyaltyError
from core.phones import mask_mobile

from .models import (
    Member, RfmRun, RfmSegment, Segment, SegmentSnapshot, Tag, TagChange, TagCondition, TagRule,
)
from .segments import segment_count, segment_export_rows, segment_preview
from .services.segments import segment_snapshot_take, segment_validate
from .services.tag_rules import tag_rules_refresh
from .services.tags import member_tags_add
from .tag_conditions import validate as validate_condition


@admin.register(RfmSegment)
class RfmSegmentAdmin(admin.ModelAdmin):
    list_display = ("segment_name", "code", "priority", "r_min", "r_max", "f_min", "f_max",
                    "m_min", "m_max")
    list_editable = ("priority",)

    @admin.display(description=_("name"), ordering="name")
    def segment_name(self, obj: RfmSegment) -> str:
        return obj.display_name


@admin.register(RfmRun)
class RfmRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each score means today: the boundaries of every nightly run."""

    list_display = ("computed_at", "levels", "members", "recency_days", "frequency", "monetary")


class TagConditionForm(forms.ModelForm):
    class Meta:
        model = TagCondition
        fields = ("kind", "statistic", "values", "minimum", "maximum", "days", "period", "negate")

    def clean(self):
        cleaned = super().clean()
        if not self.errors and cleaned.get("kind"):
            try:
                validate_condition(TagCondition(**{f: cleaned.get(f) for f in self.Meta.fields
                                                   if f != "negate"}))
            except LoyaltyError as exc:
                raise ValidationError(exc.message) from None
        return cleaned


class TagConditionInline(admin.TabularInline):
    model = TagCondition
    form = TagConditionForm
    extra = 1


@admin.register(TagRule)
class TagRuleAdmin(admin.ModelAdmin):
    """A rule tag's conditions, all of which must hold; refreshed nightly and on events."""

    list_display = ("tag", "is_active", "refreshed_at")
    list_select_related = ("tag",)
    autocomplete_fields = ("tag",)
    readonly_fields = ("refreshed_at",)
    inlines = (TagConditionInline,)
    actions = ("refresh_now",)

    @admin.action(description=_("Refresh the selected rules for every member now"))
    def refresh_now(self, request, queryset):
        done = tag_rules_refresh(rule_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("Tags added: %(added)d, removed: %(removed)d.")
                          % {"added": done.added, "removed": done.removed}, messages.SUCCESS)


@admin.register(TagChange)
class TagChangeAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("changed_at", "member_link", "tag_name", "action", "cause")
    list_filter = ("action", "cause")
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("member_id",)
    search_help_text = _("A member id.")
    ordering = ("-id",)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(member_id=int(term) if term.isdigit() else -1), False

    def changelist_view(self, request, extra_context=None):
        self._tag_names = dict(Tag.objects.values_list("pk", "name")[:5000])
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("tag"))
    def tag_name(self, obj: TagChange) -> str:
        return getattr(self, "_tag_names", {}).get(obj.tag_id, str(obj.tag_id))

    @admin.display(description=_("member"))
    def member_link(self, obj: TagChange):
        url = reverse("admin:members_member_change", args=[obj.member_id])
        return format_html("<a href='{}'>{}</a>", url, obj.member_id)


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ("name", "code", "expression", "description")
        widgets = {"expression": forms.Textarea(attrs={"rows": 3, "cols": 90})}

    def clean_expression(self):
        expression = self.cleaned_data["expression"]
        try:
            segment_validate(expression=expression)
        except LoyaltyError as exc:
            raise ValidationError(exc.message) from None
        return expression


class SnapshotInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SegmentSnapshot
    fields = ("taken_at", "member_count", "expression")
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ("-taken_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-taken_at")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Edit a definition and see its count as you type; preview, export, snapshot."""

    form = SegmentForm
    list_display = ("name", "code", "expression", "updated_at")
    search_fields = ("name", "code")
    readonly_fields = ("live_count", "preview")
    inlines = (SnapshotInline,)
    actions = ("take_snapshot",)
    change_form_template = "admin/members/segment/change_form.html"

    def get_urls(self):
        return [
            path("count/", self.admin_site.admin_view(self.count_view),
                 name="members_segment_count"),
            path("<int:segment_id>/export/", self.admin_site.admin_view(self.export_view),
                 name="members_segment_export"),
            path("<int:segment_id>/snapshot/", self.admin_site.admin_view(self.snapshot_view),
                 name="members_segment_snapshot"),
        ] + super().get_urls()

    def count_view(self, request):
        """The live count while the operator edits: the number, or why the text is wrong."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": gettext_now("Not allowed.")}, status=403)
        try:
            return JsonResponse({"count": segment_count(request.GET.get("expression", ""))})
        except LoyaltyError as exc:
            return JsonResponse({"error": exc.message}, status=400)

    def export_view(self, request, segment_id: int):
        segment = get_object_or_404(Segment, pk=segment_id)
        if not self.has_view_permission(request, segment):
            return JsonResponse({"error": gettext_now("Not allowed.")}, status=403)

        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())
        header = [gettext_now("id"), gettext_now("member number"), gettext_now("name"),
                  gettext_now("gender"), gettext_now("region"), gettext_now("home store")]
        rows = _csv_rows(writer, header, segment_export_rows(segment.expression))
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

    @admin.action(description=_("Take a snapshot of the selected segments"))
    def take_snapshot(self, request, queryset):
        for segment in queryset[:20]:
            snapshot = segment_snapshot_take(segment_id=segment.pk)
            self.message_user(request, _("%(segment)s: snapshot of %(n)d members.")
                              % {"segment": segment.name, "n": snapshot.member_count})

    @admin.display(description=_("members now"))
    def live_count(self, obj: Segment):
        if not obj.pk:
            return "-"
        try:
            count = segment_count(obj.expression)
        except LoyaltyError as exc:
            return exc.message
        export = reverse("admin:members_segment_export", args=[obj.pk])
        return format_html("{} · <a href='{}'>{}</a>", count, export, _("Export CSV"))

    @admin.display(description=_("preview (first 50)"))
    def preview(self, obj: Segment):
        if not obj.pk:
            return "-"
        try:
            members = segment_preview(obj.expression)
        except LoyaltyError as exc:
            return exc.message
        if not members:
            return _("No members.")
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((reverse("admin:members_member_change", args=[m.pk]), m.member_no, m.name,
              mask_mobile(m.mobile), m.region) for m in members)))


def _csv_rows(writer, header, rows):
    yield "\ufeff"  # so that spreadsheet programs read UTF-8 (Chinese names)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


class TagImportForm(forms.Form):
    tag = forms.ModelChoiceField(queryset=Tag.objects.filter(kind=Tag.Kind.MANUAL,
                                                             is_active=True),
                                 label=_("tag"))
    member_numbers = forms.CharField(
        label=_("member numbers"), widget=forms.Textarea(attrs={"rows": 12, "cols": 40}),
        required=False, help_text=_("One per line (or separated by commas or spaces)."))
    file = forms.FileField(label=_("or a file"), required=False,
                           help_text=_("A text or CSV file with one member number per line."))

    MAX_NUMBERS = 1_000_000

    def numbers(self) -> list[str]:
        text = self.cleaned_data.get("member_numbers") or ""
        upload = self.cleaned_data.get("file")
        if upload is not None:
            try:
                text += "\n" + upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError(_("The file is not UTF-8 text.")) from None
        numbers = sorted({n for n in text.replace(",", " ").split() if n.isdigit() and len(n) <= 20})
        if not numbers:
            raise ValidationError(_("No member numbers found."))
        if len(numbers) > self.MAX_NUMBERS:
            raise ValidationError(_("At most 1,000,000 member numbers at once."))
        return numbers


def import_tag_view(model_admin, request):
    """Put a manual tag on the members whose numbers an operator pastes or uploads: one
    statement for the lot; unknown numbers are listed back."""
    form = TagImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            numbers = form.numbers()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            members = Member.objects.filter(member_no__in=numbers)
            found = set(members.values_list("member_no", flat=True))
            added = member_tags_add(tag_id=form.cleaned_data["tag"].pk, members=members,
                                    cause=TagChange.Cause.IMPORT)
            result = {"added": added, "found": len(found),
                      "unknown": [n for n in numbers if n not in found][:200],
                      "unknown_count": len(numbers) - len(found)}
    return TemplateResponse(request, "admin/members/import_tag.html", {
        **model_admin.admin_site.each_context(request), "form": form, "result": result,
        "opts": model_admin.model._meta, "title": _("Import a tag by member numbers")})

