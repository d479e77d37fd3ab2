"""Gift cards in the operator console: issuing a batch (the codes and PINs are downloaded
once, as the answer to the issue), the cards and their ledger (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from core.export import csv_stream

from ..errors import PointsError
from ..models.gift_cards import GiftCard, GiftCardBatch, GiftCardEntry
from ..services.gift_cards import (
    MAX_BATCH,
    gift_card_batch_check,
    gift_card_batch_issue,
    printed_code,
)


class BatchIssueForm(forms.ModelForm):
    class Meta:
        model = GiftCardBatch
        fields = ("name", "face_value", "quantity", "valid_days")

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                gift_card_batch_check(face_value=data.get("face_value"),
                                      quantity=data.get("quantity"),
                                      valid_days=data.get("valid_days"))
            except PointsError as exc:
                raise forms.ValidationError(exc.message) from None
        return data


@admin.register(GiftCardBatch)
class GiftCardBatchAdmin(ScaleAdmin):
    """Adding a batch issues its cards and answers a CSV of codes and PINs — the only time
    the PINs are seen; the programme keeps their keyed hashes."""

    form = BatchIssueForm
    list_display = ("id", "name", "face_value", "quantity", "valid_days", "created_at",
                    "actor_user")
    list_select_related = ("actor_user",)
    ordering = ("-id",)
    sortable_by = ("id",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "face_value", "quantity", "valid_days")
        return ("name", "face_value", "quantity", "valid_days", "created_at", "actor_user")

    def save_model(self, request, obj, form, change):
        issued = gift_card_batch_issue(name=obj.name, face_value=obj.face_value,
                                       quantity=obj.quantity, valid_days=obj.valid_days)
        obj.pk = issued.batch.pk
        obj.created_at = issued.batch.created_at
        obj._state.adding = False
        request._issued_gift_cards = issued

    def response_add(self, request, obj, post_url_continue=None):
        issued = getattr(request, "_issued_gift_cards", None)
        if issued is None:  # pragma: no cover - save_model always sets it
            return super().response_add(request, obj, post_url_continue)
        rows = ((printed_code(card.code), card.pin, issued.batch.face_value)
                for card in issued.cards)
        response = StreamingHttpResponse(
            csv_stream([str(_("code")), str(_("PIN")), str(_("face value"))], rows),
            content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="gift-cards-{issued.batch.pk}.csv"')
        return response


@admin.register(GiftCard)
class GiftCardAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "code_end", "batch", "face_value", "balance", "state",
                    "activated_at", "expires_at")
    list_select_related = ("batch",)
    fields = ("batch", "code_end", "face_value", "balance", "state", "activated_at",
              "expires_at")
    readonly_fields = ("code_end",)
    list_filter = ("state",)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=code",)
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description=_("code"))
    def code_end(self, obj: GiftCard) -> str:
        return f"…{obj.code[-4:]}"


@admin.register(GiftCardEntry)
class GiftCardEntryAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "created_at", "card", "kind", "amount", "order", "store",
                    "actor_user", "actor_api_key_id")
    list_select_related = ("card", "order", "order__store", "store", "actor_user")
    fields = ("card", "kind", "amount", "order", "store", "actor_user", "actor_api_key_id",
              "created_at")
    list_filter = ("kind",)
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)


__all__ = ["MAX_BATCH"]
