"""API keys in the operator console: the secret shown once, revoked or handed on."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import AutocompleteInputMixin

from ..models import ApiKey, Scope
from ..services.api_keys import api_key_create, api_key_reassign, api_key_revoke


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(label=_("scopes"), choices=Scope.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "owner", "rate_per_minute")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].required = False  # empty: whoever creates the key


@admin.register(ApiKey)
class ApiKeyAdmin(AutocompleteInputMixin, ModelAdmin):
    """Keys are created here by a programme admin and shown once; afterwards only the
    prefix is known. A key's owner answers for what the key does: whoever creates a key owns
    it unless they name someone else, and a programme admin may hand a key to another owner
    later (what it did stays recorded against the key itself)."""

    list_display = ("name", "prefix", "scopes", "owner", "rate_per_minute", "last_used_at",
                    "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "last_used_at", "revoked_at", "created_at")
    autocomplete_fields = ("owner",)
    actions = ("revoke",)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return super().get_fieldsets(request, obj)
        return [(None, {"fields": ("name", "scopes", "owner", "rate_per_minute"),
                        "description": _("The owner answers for what the key does; "
                                         "you, unless you name someone else.")})]

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a key's grant never changes: revoke it and make a new one
            return ("name", "prefix", "scopes", "rate_per_minute", "last_used_at",
                    "revoked_at", "created_at")
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            if "owner" in form.changed_data:
                api_key_reassign(key_id=obj.pk, owner_id=form.cleaned_data["owner"].pk)
            return
        owner = form.cleaned_data.get("owner") or request.user
        key, plaintext = api_key_create(
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
            owner_id=owner.pk, rate_per_minute=form.cleaned_data["rate_per_minute"])
        obj.pk = key.pk
        # Messages live in the session (settings.MESSAGE_STORAGE), on the server: the
        # plaintext is never in a cookie, and is gone once this page has shown it.
        self.message_user(request, format_html(
            "{} <code style='user-select:all'>{}</code>",
            _("Copy the key now; it will not be shown again:"), plaintext), messages.WARNING)

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key_id=key.pk)
        self.message_user(request, _("Keys revoked."), messages.SUCCESS)
