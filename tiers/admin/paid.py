"""Paid membership in the operator console: plans, memberships, purchases entered by an
operator, the paid-membership figures."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import (
    ReadOnlyAdminMixin,
    ScaleAdmin,
    month_page,
    permission_view,
)
from core.errors import LoyaltyError
from core.text import one_line_text
from members.admin.search import MemberSearchMixin
from members.models import Member

from ..models.paid import PaidMembership, PaidPlan, PaidPurchase, PurchaseChannel
from ..selectors.benefits import month_bounds
from ..selectors.paid import paid_membership_figures
from ..services.paid import paid_purchase
from .benefits import BenefitAttachmentInline


@admin.register(PaidPlan)
class PaidPlanAdmin(ModelAdmin):
    list_display = ("name", "code", "duration_months", "price", "is_active")
    inlines = [BenefitAttachmentInline]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("figures/", permission_view(self.admin_site, self.figures_view,
                                                 "tiers.view_paidplan"),
                     name="tiers_paid_figures")] + super().get_urls()

    def figures_view(self, request):
        now = timezone.now()
        page = month_page(request, now)
        figures = None
        if not page.error:
            start, end = month_bounds(page.month)
            figures = paid_membership_figures(start=start, end=end, now=now)
        return TemplateResponse(request, "admin/tiers/paid_figures.html", {
            **self.admin_site.each_context(request), "opts": PaidPlan._meta,
            "title": _("Paid membership figures"), "page": page, "figures": figures,
        })


@admin.register(PaidMembership)
class PaidMembershipAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("member_no", "plan", "status", "first_started_at", "ends_at", "purchases")
    list_select_related = ("member", "plan")
    list_filter = ("status", "plan")
    show_facets = admin.ShowFacets.NEVER
    ordering = ("ends_at",)
    sortable_by = ("ends_at",)

    @admin.display(description=_("member"))
    def member_no(self, obj):
        return obj.member.member_no


class PurchaseForm(forms.Form):
    member_no = forms.CharField(label=_("member number"), max_length=32)
    plan = forms.ModelChoiceField(label=_("plan"), queryset=PaidPlan.objects.filter(is_active=True))
    purchase_id = forms.CharField(label=_("purchase id"), max_length=64,
                                  validators=[one_line_text],
                                  help_text=_("The receipt or order number of the payment."))
    amount = forms.DecimalField(label=_("amount paid (CNY)"), min_value=0, max_digits=10,
                                decimal_places=2)

    def clean_member_no(self):
        member = Member.objects.filter(member_no=self.cleaned_data["member_no"].strip()).first()
        if member is None:
            raise ValidationError(_("No member has this number."))
        return member


@admin.register(PaidPurchase)
class PaidPurchaseAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    """Purchases are append-only; an operator enters one through *Record a purchase*."""

    list_display = ("id", "created_at", "member_no", "plan", "kind", "channel", "amount",
                    "period_start", "period_end", "purchase_id")
    list_select_related = ("member", "plan")
    list_filter = ("kind", "channel", "plan")
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)
    search_fields = ("=purchase_id",)

    @admin.display(description=_("member"))
    def member_no(self, obj):
        return obj.member.member_no

    def get_urls(self):
        return [path("record/", permission_view(self.admin_site, self.record_view,
                                                "tiers.add_paidpurchase"),
                     name="tiers_paidpurchase_record")] + super().get_urls()

    def record_view(self, request):
        form = PurchaseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                outcome = paid_purchase(
                    member_id=data["member_no"].pk, plan_code=data["plan"].code,
                    purchase_id=data["purchase_id"].strip(), amount=data["amount"],
                    channel=PurchaseChannel.ADMIN, operator_id=request.user.pk,
                    now=timezone.now())
            except LoyaltyError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _("Paid membership of %(member)s runs until "
                                             "%(end)s.") % {
                    "member": data["member_no"].member_no,
                    "end": timezone.localtime(outcome.membership.ends_at).strftime("%Y-%m-%d")},
                    messages.SUCCESS)
                return redirect(reverse("admin:tiers_paidpurchase_changelist"))
        return TemplateResponse(request, "admin/tiers/record_purchase.html", {
            **self.admin_site.each_context(request), "opts": PaidPurchase._meta, "form": form,
            "title": _("Record a paid membership purchase")})
