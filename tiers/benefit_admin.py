"""Benefits and paid membership in the operator console: the catalog, each tier's and plan's
benefits with their parameters (and a warning when a higher tier gets less), grants claimed
and used at the operator's hand, purchases entered by an operator, the cost per tier and
month, and the paid-membership figures."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import (
    AutocompleteInputMixin,
    DeclaredPermissionsMixin,
    ReadOnlyAdminMixin,
    ScaleAdmin,
    month_page,
    permission_view,
)
from core.errors import LoyaltyError
from core.text import one_line_text
from members.admin_search import MemberSearchMixin
from members.models import Member

from .benefit_models import (
    FIXED_SERVICE_KINDS,
    Benefit,
    BenefitAttachment,
    BenefitGrant,
    BenefitKind,
    GrantPeriod,
)
from .benefits import benefit_grant_claim, benefit_grant_use
from .figures import benefit_cost_by_tier, month_bounds, paid_membership_figures
from .paid import paid_purchase
from .paid_models import PaidMembership, PaidPlan, PaidPurchase, PurchaseChannel
from .selectors import benefit_isolation_warnings


class BenefitForm(forms.ModelForm):
    class Meta:
        model = Benefit
        fields = ("code", "name", "kind", "description", "grant_period", "valid_days",
                  "unit_cost", "coupon_template", "is_active")

    def clean(self):
        data = super().clean()
        kind, period = data.get("kind"), data.get("grant_period")
        if kind == BenefitKind.COUPON_PACK and not data.get("coupon_template"):
            self.add_error("coupon_template", _("A coupon pack needs its coupon template."))
        if kind in (BenefitKind.POINTS_MULTIPLIER, BenefitKind.TIER_DISCOUNT) \
                and period != GrantPeriod.NONE:
            self.add_error("grant_period", _("Multipliers and discounts are applied by the "
                                             "system, not granted."))
        return data


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    form = BenefitForm
    list_display = ("name", "code", "kind", "service_or_variable", "grant_period", "unit_cost",
                    "is_active")
    list_filter = ("kind", "grant_period", "is_active")
    search_fields = ("code", "name")

    def has_delete_permission(self, request, obj=None):
        return False  # grants point at benefits: deactivate one instead

    @admin.display(description=_("fixed service or variable"))
    def service_or_variable(self, obj: Benefit):
        return _("Fixed service") if obj.kind in FIXED_SERVICE_KINDS else _("Variable")

    def get_urls(self):
        return [path("cost/", permission_view(self.admin_site, self.cost_view,
                                              "tiers.view_benefit"),
                     name="tiers_benefit_cost")] + super().get_urls()

    def cost_view(self, request):
        page = month_page(request, timezone.now())
        rows = None if page.error else benefit_cost_by_tier(month=page.month)
        return TemplateResponse(request, "admin/tiers/benefit_cost.html", {
            **self.admin_site.each_context(request), "opts": Benefit._meta,
            "title": _("What benefits cost per tier"), "page": page, "rows": rows,
            "total": sum((r.total for r in rows), Decimal(0)) if rows is not None else None,
        })


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = BenefitAttachment
        fields = ("benefit", "multiplier", "discount_rate", "quantity")

    def clean(self):
        data = super().clean()
        item: Benefit | None = data.get("benefit")
        if item is None:
            return data
        if item.kind == BenefitKind.POINTS_MULTIPLIER and not data.get("multiplier"):
            raise ValidationError(_("Give the points multiplier (2 for double points)."))
        if item.kind == BenefitKind.TIER_DISCOUNT and not data.get("discount_rate"):
            raise ValidationError(_("Give the discount rate (0.95 for 9.5折)."))
        if item.grant_period != GrantPeriod.NONE and not data.get("quantity"):
            raise ValidationError(_("Give the quantity granted each period."))
        return data


class BenefitAttachmentInline(AutocompleteInputMixin, admin.TabularInline):
    model = BenefitAttachment
    form = AttachmentForm
    extra = 0
    autocomplete_fields = ("benefit",)
    verbose_name = _("benefit")
    verbose_name_plural = _("benefits (2× points: multiplier 2; 9.5折: discount rate 0.95; "
                            "2 a month: quantity 2)")


class IsolationWarningsMixin:
    """Say, after every save and on the list, where a higher tier gets less than a lower."""

    def _warn(self, request) -> None:
        for warning in benefit_isolation_warnings():
            self.message_user(request, warning, messages.WARNING)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self._warn(request)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            self._warn(request)
        return super().changelist_view(request, extra_context)


@admin.register(PaidPlan)
class PaidPlanAdmin(admin.ModelAdmin):
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


@admin.register(BenefitGrant)
class BenefitGrantAdmin(DeclaredPermissionsMixin, MemberSearchMixin, ReadOnlyAdminMixin,
                        ScaleAdmin):
    list_display = ("id", "member_no", "benefit", "period", "quantity", "used_quantity",
                    "status", "granted_at", "expires_at")
    list_select_related = ("member", "benefit")
    list_filter = ("status", "benefit")
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)
    actions = ("claim", "use_one")

    action_permissions = {"claim": "tiers.change_benefitgrant"}

    @admin.display(description=_("member"))
    def member_no(self, obj):
        return obj.member.member_no

    def _each(self, request, queryset, work, done_message) -> None:
        done, failed = 0, []
        for grant in queryset[:200]:
            try:
                work(grant)
            except LoyaltyError as exc:
                failed.append(f"#{grant.pk}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
        for failure in failed:
            self.message_user(request, failure, messages.ERROR)

    @admin.action(description=_("Claim the selected benefits"), permissions=["claim"])
    def claim(self, request, queryset):
        self._each(request, queryset, lambda g: benefit_grant_claim(
            member_id=g.member_id, grant_id=g.pk, now=timezone.now()),
            _("Claimed %(n)d benefits."))

    @admin.action(description=_("Use one unit of the selected benefits"), permissions=["claim"])
    def use_one(self, request, queryset):
        self._each(request, queryset, lambda g: benefit_grant_use(
            member_id=g.member_id, grant_id=g.pk, units=1, now=timezone.now()),
            _("Used one unit of %(n)d benefits."))
