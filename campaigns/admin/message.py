from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone
from unfold.admin import ModelAdmin

from ..models import MessageTemplate
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


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ModelAdmin):
    form = MessageTemplateForm
    list_display = ("name", "code", "channel", "kind")
    list_filter = ("channel", "kind")
    search_fields = ("name", "code")
    show_facets = admin.ShowFacets.NEVER

    def has_delete_permission(self, request, obj=None):
        return False  # messages point at their template

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)
