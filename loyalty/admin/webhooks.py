"""Webhooks in the operator console: subscriptions (programme admins), the outbox's
deliveries with their log, a test ping and re-sending."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from core.admin import DeclaredPermissionsMixin, ReadOnlyAdminMixin, ScaleAdmin

from ..models import EventType, WebhookDelivery, WebhookSubscription
from ..services.webhooks import (
    webhook_ping,
    webhook_resend,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_update,
)


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(label=_("event types"), choices=EventType.choices,
                                            widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "event_types", "owner", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:  # read-only for a role that only views
            self.fields["owner"].required = False  # empty: whoever creates it

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError(_("The URL must start with https:// or http://."))
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ModelAdmin):
    """A receiver of events. The secret is made here and shown to whoever may change the
    subscription; rotating it keeps the old one valid for a day. A subscription switched off
    after a day of failures is named at the top of this list."""

    form = WebhookSubscriptionForm
    list_display = ("name", "url", "is_active", "failing_since", "switched_off_at", "owner")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    raw_id_fields = ("owner",)
    actions = ("ping", "rotate_secret")

    def get_readonly_fields(self, request, obj=None):
        fields = ["failing_since", "switched_off_at", "previous_secret_until", "created_at"]
        if obj is not None and self.has_change_permission(request, obj):
            fields.insert(0, "secret")
        return fields

    def get_fields(self, request, obj=None):
        return [*WebhookSubscriptionForm.Meta.fields, *self.get_readonly_fields(request, obj)]

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, "event_types": EventType.values,
                **super().get_changeform_initial_data(request)}

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        off = WebhookSubscription.objects.filter(is_active=False,
                                                 switched_off_at__isnull=False)
        for sub in off.filter(owner=request.user) if not request.user.is_superuser else off:
            self.message_user(request, _(
                "Webhook subscription “%(name)s” was switched off at %(at)s: its receiver "
                "failed for a day. Its events are kept; switch it on when the receiver "
                "works.") % {"name": sub.name, "at": sub.switched_off_at}, messages.WARNING)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            webhook_subscription_update(
                subscription_id=obj.pk, name=data["name"], url=data["url"],
                event_types=data["event_types"], owner_id=(data["owner"] or request.user).pk,
                is_active=data["is_active"])
            return
        sub = webhook_subscription_create(
            name=data["name"], url=data["url"], event_types=data["event_types"],
            owner_id=(data.get("owner") or request.user).pk, is_active=data["is_active"])
        obj.pk = sub.pk

    @admin.action(description=_("Send a test ping"), permissions=["change"])
    def ping(self, request, queryset):
        for sub in queryset:
            d = webhook_ping(subscription_id=sub.pk)
            level = messages.SUCCESS if d.state == WebhookDelivery.State.DELIVERED \
                else messages.ERROR
            self.message_user(request, _(
                "Ping to “%(name)s”: HTTP status %(status)s in %(ms)s ms %(error)s") % {
                "name": sub.name, "status": d.last_status or "-", "ms": d.last_latency_ms,
                "error": d.last_error}, level)

    @admin.action(description=_("Rotate the secret (the old one stays valid for a day)"),
                  permissions=["change"])
    def rotate_secret(self, request, queryset):
        for sub in queryset:
            webhook_secret_rotate(subscription_id=sub.pk)
        self.message_user(request, _("New secrets made; open a subscription to copy it."),
                          messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(DeclaredPermissionsMixin, ReadOnlyAdminMixin, ScaleAdmin):
    """The outbox and its log: each event for each subscription, its attempts, the last
    status, latency and a response excerpt."""

    action_permissions = {"resend": "loyalty.resend_webhookdelivery"}
    list_display = ("event_type", "subscription", "member_id", "state", "attempts",
                    "last_status", "last_latency_ms", "next_attempt_at", "delivered_at")
    list_select_related = ("subscription",)
    list_filter = ("state", "event_type", "subscription")
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=event_id", "=member_id")
    ordering = ("-id",)
    actions = ("resend",)

    @admin.action(description=_("Re-send the selected deliveries"), permissions=["resend"])
    def resend(self, request, queryset):
        count = webhook_resend(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)d delivery queued again.",
                                            "%(count)d deliveries queued again.", count)
                          % {"count": count}, messages.SUCCESS)
