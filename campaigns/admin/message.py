from __future__ import annotations

from django import forms
from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import SingletonAdmin, permission_view
from members.models import Member
from members.selectors.members import is_exact_identifier, member_search

from ..models import ContactPolicy, MessageTemplate
from ..selectors.messages import message_preview
from ..services.messages import message_body_problems


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        exclude = ("created_at",)

    def clean_body(self):
        body = self.cleaned_data["body"]
        for problem in message_body_problems(body):
            self.add_error("body", problem)
        return body


class PreviewForm(forms.Form):
    member = forms.CharField(label=_("member number or mobile"), max_length=20)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ModelAdmin):
    form = MessageTemplateForm
    list_display = ("name", "code", "channel", "kind", "preview_link")
    list_filter = ("channel", "kind")
    search_fields = ("name", "code")
    show_facets = admin.ShowFacets.NEVER

    def has_delete_permission(self, request, obj=None):
        return False  # messages point at their template

    @admin.display(description=_("preview"))
    def preview_link(self, obj: MessageTemplate):
        return format_html('<a href="{}">{}</a>', reverse(
            "admin:campaigns_messagetemplate_preview", args=[obj.pk]), _("Preview"))

    def get_urls(self):
        return [
            path("<int:template_id>/preview/", permission_view(
                self.admin_site, self.preview_view, "campaigns.view_messagetemplate",
                "members.view_member"), name="campaigns_messagetemplate_preview"),
        ] + super().get_urls()

    def preview_view(self, request, template_id: int):
        """The template as a real member (exact member number or mobile) would read it."""
        template = get_object_or_404(MessageTemplate, pk=template_id)
        form = PreviewForm(request.GET or None)
        preview = None
        if form.is_valid():
            member = member_exact(form.cleaned_data["member"])
            if member is None:
                form.add_error("member", _("No member has this number."))
            else:
                preview = message_preview(template=template, member=member,
                                          now=timezone.now())
        return TemplateResponse(request, "admin/campaigns/template_preview.html", {
            **self.admin_site.each_context(request), "opts": MessageTemplate._meta,
            "object": template, "form": form, "preview": preview,
            "title": _("Preview of %(name)s") % {"name": template.name},
            "back_url": reverse("admin:campaigns_messagetemplate_change",
                                args=[template.pk])})

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ContactPolicy)
class ContactPolicyAdmin(SingletonAdmin):
    pass


def member_exact(term: str) -> Member | None:
    """A member by an exact member number or mobile; nothing else (no browsing)."""
    term = (term or "").strip()
    if not term or not is_exact_identifier(term):
        return None
    return member_search(Member.objects.order_by("pk"), term).first()
