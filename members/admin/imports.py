"""Tagging members by number from the admin: the import page stages the upload and queues a
job (members.services.tag_import); the job's page shows its progress and refreshes itself
until it is done."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin
from core.errors import LoyaltyError

from ..models import Tag, TagImportJob
from ..services.tag_import import MAX_BYTES, MAX_MEGABYTES, MAX_ROWS, tag_import_stage

READ_BLOCK = 256 * 1024


class TagImportForm(forms.Form):
    tag = forms.ModelChoiceField(queryset=Tag.objects.filter(kind=Tag.Kind.MANUAL,
                                                             is_active=True),
                                 label=_("tag"))
    member_numbers = forms.CharField(
        label=_("member numbers"), widget=forms.Textarea(attrs={"rows": 12, "cols": 40}),
        required=False, help_text=_("One per line (or separated by commas or spaces)."))
    file = forms.FileField(label=_("or a file"), required=False,
                           help_text=_("A text or CSV file with one member number per line: "
                                       "at most %(rows)s numbers and %(mb)s MB.")
                           % {"rows": f"{MAX_ROWS:,}", "mb": MAX_MEGABYTES})

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > MAX_BYTES:
            raise ValidationError(_("At most %(mb)s MB in one import.") % {"mb": MAX_MEGABYTES})
        return upload

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("member_numbers") and not cleaned.get("file"):
            raise ValidationError(_("No member numbers found."))
        return cleaned

    def sources(self):
        """The pasted text, then the file read a block at a time."""
        sources = [[self.cleaned_data.get("member_numbers", "").encode()]]
        if upload := self.cleaned_data.get("file"):
            sources.append(upload.chunks(READ_BLOCK))
        return sources


def import_tag_view(model_admin, request):
    """Put a manual tag on the members whose numbers an operator pastes or uploads: the
    numbers are staged as the upload is read, and a background job applies them; the
    operator is taken to the job's page."""
    if not model_admin.has_tag_members_permission(request):
        raise PermissionDenied
    form = TagImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = tag_import_stage(tag_id=form.cleaned_data["tag"].pk, sources=form.sources(),
                                   requested_by_id=request.user.pk)
        except LoyaltyError as exc:
            form.add_error(None, exc.message)
        else:
            return HttpResponseRedirect(reverse("admin:members_tagimportjob_change",
                                                args=[job.pk]))
    return TemplateResponse(request, "admin/members/import_tag.html", {
        **model_admin.admin_site.each_context(request), "form": form,
        "opts": model_admin.model._meta, "title": _("Import a tag by member numbers"),
        "jobs_url": reverse("admin:members_tagimportjob_changelist")})


@admin.register(TagImportJob)
class TagImportJobAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """The imports and how far each got; an unfinished one's page refreshes itself."""

    list_display = ("id", "tag", "status", "progress", "rows_total", "tagged", "found",
                    "unknown", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("tag", "requested_by")
    fields = ("tag", "status", "progress", "rows_total", "rows_skipped", "rows_done", "tagged",
              "found", "unknown", "unknown_numbers", "error", "requested_by", "created_at",
              "started_at", "finished_at")
    readonly_fields = fields
    change_form_template = "admin/members/tagimportjob/change_form.html"

    @admin.display(description=_("progress"))
    def progress(self, obj: TagImportJob) -> str:
        return f"{obj.percent}%"

    @admin.display(description=_("some numbers that are not members"))
    def unknown_numbers(self, obj: TagImportJob) -> str:
        shown = ", ".join(obj.unknown_sample)
        return shown + (" …" if (obj.unknown or 0) > len(obj.unknown_sample) else "")
