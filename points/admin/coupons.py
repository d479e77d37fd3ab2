"""Coupons in the operator console: templates with code upload and issue, coupons and
their history (read-only)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import (
    DeclaredPermissionsMixin,
    PermittedColumnsMixin,
    ReadOnlyAdminMixin,
    ScaleAdmin,
    permission_view,
)
from core.errors import LoyaltyError
from members.admin.search import MemberSearchMixin, member_link

from ..models import Coupon, CouponEvent, CouponTemplate
from ..reasons import reason_with_note
from ..services.coupons import (
    COUPON_TERMS,
    coupon_issue,
    coupon_template_save,
    coupon_template_terms_check,
    coupon_void,
    coupons_upload,
)
from .rewards import CatalogFormMixin, MemberField

# --- coupons --------------------------------------------------------------------------------

class UploadCodesForm(forms.Form):
    codes = forms.CharField(label=_("codes"), widget=forms.Textarea(attrs={"rows": 12}),
                            help_text=_("One code per line: 4 to 32 letters, digits or dashes."))


class IssueForm(forms.Form):
    member = MemberField()
    token = forms.CharField(widget=forms.HiddenInput)


class CouponTemplateForm(forms.ModelForm):
    class Meta:
        model = CouponTemplate
        exclude = ("created_at",)

    def clean(self):
        cleaned = super().clean()
        candidate = CouponTemplate.objects.filter(pk=self.instance.pk).first()
        if candidate is not None:
            for name in COUPON_TERMS:
                if name in cleaned:
                    setattr(candidate, name, cleaned[name])
            try:
                coupon_template_terms_check(candidate)
            except LoyaltyError as exc:
                self.add_error(None, exc.message)
        return cleaned


@admin.register(CouponTemplate)
class CouponTemplateAdmin(PermittedColumnsMixin, CatalogFormMixin, ModelAdmin):
    form = CouponTemplateForm
    list_display = ("name", "kind", "threshold", "amount", "percent_off", "valid_until",
                    "valid_days", "code_source", "is_active", "links")
    column_permissions = {"links": "points.add_coupon"}
    list_filter = ("kind", "code_source", "is_active")
    search_fields = ("name",)
    exclude = ("created_at",)
    show_facets = admin.ShowFacets.NEVER

    def get_readonly_fields(self, request, obj=None):
        # the service refuses re-pricing a template with coupons (coupon_template_terms_check,
        # also the form's check); the page shows those terms read-only
        if obj is not None and Coupon.objects.filter(template=obj).exists():
            return COUPON_TERMS
        return ()

    def save_model(self, request, obj, form, change):
        coupon_template_save(template=obj, now=timezone.now())

    @admin.display(description=_("issue or upload"))
    def links(self, obj: CouponTemplate):
        issue = reverse("admin:points_coupontemplate_issue", args=[obj.pk])
        upload = reverse("admin:points_coupontemplate_upload", args=[obj.pk])
        return format_html("<a href='{}'>{}</a> · <a href='{}'>{}</a>", issue,
                           _("Issue to a member"), upload, _("Upload codes"))

    def get_urls(self):
        def view(page):
            return permission_view(self.admin_site, page, "points.add_coupon")

        return [
            path("<int:template_id>/issue/", view(self.issue_view),
                 name="points_coupontemplate_issue"),
            path("<int:template_id>/upload/", view(self.upload_view),
                 name="points_coupontemplate_upload"),
        ] + super().get_urls()

    def issue_view(self, request, template_id: int):
        template = get_object_or_404(CouponTemplate, pk=template_id)
        form = IssueForm(request.POST or None, initial={"token": uuid.uuid4().hex})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if self.run(request, form,
                        lambda: coupon_issue(template_id=template.pk, member_id=data["member"].pk,
                                             source_key=f"admin:{data['token']}"),
                        lambda c: _("Coupon %(code)s issued.") % {"code": c.code}):
                return redirect("admin:points_coupon_changelist")
        return self.form_page(request, template, form, _("Issue to a member"), _("Issue"))

    def upload_view(self, request, template_id: int):
        template = get_object_or_404(CouponTemplate, pk=template_id)
        form = UploadCodesForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            codes = form.cleaned_data["codes"].splitlines()
            if self.run(request, form,
                        lambda: coupons_upload(template_id=template.pk, codes=codes),
                        lambda n: _("%(n)d codes added.") % {"n": n}):
                return redirect("admin:points_coupontemplate_changelist")
        return self.form_page(request, template, form, _("Upload codes"), _("Upload"))


class CouponSearchMixin(MemberSearchMixin):
    search_help_text = _("A coupon code, or a member's number or mobile.")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term and Coupon.objects.filter(code=term.upper()).exists():
            return queryset.filter(code=term.upper()), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Coupon)
class CouponAdmin(DeclaredPermissionsMixin, CouponSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    action_permissions = {"void": "points.change_coupon"}
    list_display = ("code", "template", "member_no", "state", "issued_at", "valid_until",
                    "redeemed_at", "order_no", "discount")
    list_select_related = ("template", "member")
    list_filter = ("state",)
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    actions = ("void",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_coupon")

    @admin.display(description=_("member"))
    def member_no(self, obj: Coupon):
        return member_link(obj.member_id, obj.member.member_no) if obj.member_id else "-"

    @admin.action(description=_("Void the selected coupons"), permissions=["void"])
    def void(self, request, queryset):
        reason = str(_("voided in the admin by %(user)s") % {"user": request.user.get_username()})
        done = 0
        for code in queryset.values_list("code", flat=True)[:500]:
            try:
                coupon_void(code=code, reason=reason)
                done += 1
            except LoyaltyError as exc:
                self.message_user(request, f"{code}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)d coupons voided.") % {"n": done}, messages.SUCCESS)


@admin.register(CouponEvent)
class CouponEventAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "created_at", "coupon", "member_no", "kind", "order_no", "discount",
                    "reason_text")
    list_select_related = ("coupon", "member", "note")
    list_filter = ("kind",)
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("points.view_couponevent")

    @admin.display(description=_("reason"))
    def reason_text(self, obj: CouponEvent) -> str:
        return reason_with_note(obj.reason, obj.note)

    @admin.display(description=_("member"))
    def member_no(self, obj: CouponEvent):
        return member_link(obj.member_id, obj.member.member_no) if obj.member_id else "-"
