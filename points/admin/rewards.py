"""The rewards catalog in the operator console: rewards with stock kept by the
database, redemption on a member's behalf, fulfilment and cancellation."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import (
    AutocompleteInputMixin,
    PermittedColumnsMixin,
    ScaleAdmin,
    permission_view,
)
from core.errors import LoyaltyError
from members.admin.search import MemberSearchMixin, member_link
from members.models import Member, Store
from members.selectors.members import member_ids_matching

from ..models import Reward, RewardRedemption
from ..models.rewards import Fulfilment
from ..services.rewards import (
    MAX_QUANTITY,
    redemption_advance,
    redemption_cancel,
    reward_redeem,
    reward_save,
)


class MemberField(forms.CharField):
    """A member by number, mobile or the last four digits — one member, or a form error."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("member"))
        kwargs.setdefault("help_text", _("Member number or mobile."))
        super().__init__(max_length=64, **kwargs)

    def clean(self, value):
        term = super().clean(value)
        ids = member_ids_matching(term, limit=2)
        if not ids:
            raise forms.ValidationError(_("No member matches “%(term)s”."), params={"term": term})
        if len(ids) > 1:
            raise forms.ValidationError(_("Several members match; use the member number."))
        return Member.objects.get(pk=ids[0])


class CatalogFormMixin:
    """A small form page of its own for one operation on one object."""

    def form_page(self, request, obj, form, title, submit):
        return TemplateResponse(request, "admin/points/catalog_form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "object": obj,
            "form": form, "title": title, "submit": submit,
            "back_url": reverse(f"admin:points_{self.model._meta.model_name}_change",
                                args=[obj.pk]),
        })

    def run(self, request, form, work, success) -> bool:
        """Call the service; a business refusal becomes the form's error."""
        try:
            result = work()
        except LoyaltyError as exc:
            form.add_error(None, exc.message)
            return False
        self.message_user(request, success(result), messages.SUCCESS)
        return True


# --- rewards --------------------------------------------------------------------------------

class RewardForm(forms.ModelForm):
    add_stock = forms.IntegerField(
        label=_("add to stock"), required=False, min_value=1, max_value=1_000_000,
        help_text=_("Units to add to what is left (stock moves only this way once set, so "
                    "redemptions happening meanwhile are never overwritten)."))

    class Meta:
        model = Reward
        exclude = ("created_at",)


class RedeemForm(forms.Form):
    member = MemberField()
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, max_value=MAX_QUANTITY,
                                  initial=1)
    fulfilment = forms.ChoiceField(label=_("fulfilment"), required=False, choices=[
        (Fulfilment.PICKUP.value, Fulfilment.PICKUP.label),
        (Fulfilment.SHIPPING.value, Fulfilment.SHIPPING.label)])
    store = forms.ModelChoiceField(label=_("pickup store"), required=False,
                                   queryset=Store.objects.order_by("code"))
    token = forms.CharField(widget=forms.HiddenInput)  # a double submit redeems once


@admin.register(Reward)
class RewardAdmin(AutocompleteInputMixin, PermittedColumnsMixin, CatalogFormMixin, ModelAdmin):
    form = RewardForm
    list_display = ("name", "kind", "points_cost", "stock", "per_member_limit", "starts_at",
                    "ends_at", "is_active", "redeem_link")
    column_permissions = {"redeem_link": "points.add_rewardredemption"}
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    autocomplete_fields = ("eligible_tags", "coupon_template")
    show_facets = admin.ShowFacets.NEVER

    def get_readonly_fields(self, request, obj=None):
        return ("stock",) if obj is not None and obj.stock is not None else ()

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is None or obj.stock is None or not self.has_change_permission(request, obj):
            fields.remove("add_stock")
        return fields

    def save_model(self, request, obj, form, change):
        reward_save(reward=obj, add_stock=form.cleaned_data.get("add_stock"),
                    now=timezone.now())

    @admin.display(description=_("redeem"))
    def redeem_link(self, obj: Reward):
        url = reverse("admin:points_reward_redeem", args=[obj.pk])
        return format_html("<a href='{}'>{}</a>", url, _("Redeem for a member"))

    def get_urls(self):
        return [path("<int:reward_id>/redeem/", permission_view(
            self.admin_site, self.redeem_view, "points.add_rewardredemption"),
            name="points_reward_redeem")] + super().get_urls()

    def redeem_view(self, request, reward_id: int):
        reward = get_object_or_404(Reward, pk=reward_id)
        form = RedeemForm(request.POST or None, initial={"token": uuid.uuid4().hex})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            store = data.get("store")
            done = self.run(
                request, form,
                lambda: reward_redeem(member_id=data["member"].pk, reward_id=reward.pk,
                                      quantity=data["quantity"],
                                      fulfilment=data.get("fulfilment") or None,
                                      store_code=store.code if store else None,
                                      source_key=f"admin:{data['token']}"),
                lambda r: _("Redeemed %(n)d × %(reward)s for %(points)d points.")
                % {"n": r.quantity, "reward": reward.name, "points": r.points})
            if done:
                return redirect("admin:points_rewardredemption_changelist")
        return self.form_page(request, reward, form, _("Redeem for a member"), _("Redeem"))


@admin.register(RewardRedemption)
class RewardRedemptionAdmin(MemberSearchMixin, ScaleAdmin):
    list_display = ("id", "created_at", "member_no", "reward", "quantity", "points", "state",
                    "fulfilment", "store", "tracking_no")
    list_select_related = ("member", "reward", "store")
    list_filter = ("state", "fulfilment")
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)
    fields = ("reward", "member", "quantity", "points", "state", "fulfilment", "store",
              "tracking_no", "coupon", "spend_entry", "refund_entry", "created_at", "updated_at")
    readonly_fields = tuple(f for f in fields if f != "tracking_no")
    actions = ("mark_ready", "mark_shipped", "mark_delivered", "cancel")

    def has_add_permission(self, request):
        return False  # redeem from the reward's page, through the service

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=["tracking_no"])

    @admin.display(description=_("member"))
    def member_no(self, obj: RewardRedemption):
        return member_link(obj.member_id, obj.member.member_no)

    def _each(self, request, queryset, work, done_message):
        done = 0
        for redemption_id in queryset.values_list("pk", flat=True)[:500]:
            try:
                work(redemption_id)
                done += 1
            except LoyaltyError as exc:
                self.message_user(request, f"#{redemption_id}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Mark ready for pickup"), permissions=["change"])
    def mark_ready(self, request, queryset):
        self._each(request, queryset, lambda pk: redemption_advance(
            redemption_id=pk, state=RewardRedemption.State.READY),
            _("%(n)d redemptions ready for pickup."))

    @admin.action(description=_("Mark shipped"), permissions=["change"])
    def mark_shipped(self, request, queryset):
        self._each(request, queryset, lambda pk: redemption_advance(
            redemption_id=pk, state=RewardRedemption.State.SHIPPED),
            _("%(n)d redemptions shipped."))

    @admin.action(description=_("Mark delivered (picked up or received)"), permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._each(request, queryset, lambda pk: redemption_advance(
            redemption_id=pk, state=RewardRedemption.State.DELIVERED),
            _("%(n)d redemptions delivered."))

    @admin.action(description=_("Cancel and return the points"), permissions=["change"])
    def cancel(self, request, queryset):
        reason = _("cancelled in the admin by %(user)s") % {"user": request.user.get_username()}
        self._each(request, queryset, lambda pk: redemption_cancel(redemption_id=pk,
                                                                   reason=str(reason)),
                   _("%(n)d redemptions cancelled; their points were returned."))
