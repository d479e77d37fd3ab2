"""Benefits in the operator console: the catalog, each tier's and plan's benefits with their
parameters (and a warning when a higher tier gets less), grants claimed and used at the
operator's hand, the cost per tier and month."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import (
    AutocompleteInputMixin,
    DeclaredPermissionsMixin,
    ReadOnlyAdminMixin,
    ScaleAdmin,
    month_page,
    permission_view,
)
from core.errors import LoyaltyError
from members.admin.search import MemberSearchMixin

from ..models.benefits import (
    FIXED_SERVICE_KINDS,
    Benefit,
    BenefitAttachment,
    BenefitGrant,
    BenefitKind,
    GrantPeriod,
)
from ..selectors.benefits import benefit_cost_by_tier, benefit_isolation_warnings
from ..services.benefits import benefit_grant_claim, benefit_grant_use


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
class BenefitAdmin(ModelAdmin):
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


class BenefitAttachmentInline(AutocompleteInputMixin, TabularInline):
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
