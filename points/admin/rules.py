"""Earning rules in the operator console: clear forms, versions, and a "try it" page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import EXACT_COUNT_LIMIT, permission_view
from core.money import to_money
from members.models import Member, Store, Tag

from ..models.rules import EarningRule, RuleEvent
from ..selectors.rules import earning_rule_versions
from ..services.rule_versions import earning_rule_problems, earning_rule_save
from ..services.rules import STACKING_HELP, BasketLine, EarnRequest, budget_left, rules_try

WEEKDAYS = [(1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")), (4, _("Thursday")),
            (5, _("Friday")), (6, _("Saturday")), (7, _("Sunday"))]


def award_count_text(count: int) -> str:
    """A version's awards as the versions table shows them: exact up to the bound the
    selector counts to, "10,000+" beyond it."""
    return f"{count:,}" if count <= EXACT_COUNT_LIMIT else f"{EXACT_COUNT_LIMIT:,}+"


class EarningRuleForm(forms.ModelForm):
    store_codes = forms.ModelMultipleChoiceField(
        Store.objects.all(), to_field_name="code", required=False, label=_("stores"),
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked means every store."))
    tag_ids = forms.ModelMultipleChoiceField(
        Tag.objects.filter(is_active=True), required=False, label=_("member tags"),
        help_text=_("The member needs at least one of these tags (tiers are tags too)."))
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        label=_("days of the week"), help_text=_("None ticked means every day."))
    member_statuses = forms.MultipleChoiceField(
        choices=Member.Status.choices[:2], required=False, widget=forms.CheckboxSelectMultiple,
        label=_("member statuses"), help_text=_("None ticked means active members."))

    class Meta:
        model = EarningRule
        exclude = ("version", "is_current", "created_at", "created_by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "rule_key" in self.fields:  # not on a read-only page
            self.fields["rule_key"].disabled = True
            self.initial["store_codes"] = list(self.instance.store_codes)
            self.initial["tag_ids"] = list(self.instance.tag_ids)

    def clean_store_codes(self):
        return [store.code for store in self.cleaned_data["store_codes"]]

    def clean_tag_ids(self):
        return [tag.pk for tag in self.cleaned_data["tag_ids"]]

    def clean_rule_key(self):
        key = self.cleaned_data["rule_key"]
        if not self.instance.pk and EarningRule.objects.filter(rule_key=key).exists():
            raise forms.ValidationError(_("A rule with this code exists; edit it instead."))
        return key

    def _post_clean(self):
        super()._post_clean()
        for problem in earning_rule_problems(self.instance):
            field = problem.field if problem.field in self.fields else None
            self.add_error(field, problem.message)

    def validate_unique(self):
        pass  # versions share a rule code; the service and the database keep them apart


class CurrentVersionFilter(admin.SimpleListFilter):
    title = _("version")
    parameter_name = "versions"

    def lookups(self, request, model_admin):
        return [("all", _("All versions"))]

    def queryset(self, request, queryset):
        return queryset if self.value() == "all" else queryset.filter(is_current=True)

    def choices(self, changelist):
        yield {"selected": self.value() is None, "display": _("Current versions"),
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        yield {"selected": self.value() == "all", "display": _("All versions"),
               "query_string": changelist.get_query_string({self.parameter_name: "all"})}


class TryItForm(forms.Form):
    member = forms.CharField(label=_("member"), help_text=_("Member number or mobile."))
    event = forms.ChoiceField(label=_("event"), choices=RuleEvent.choices)
    custom_event = forms.CharField(label=_("custom event name"), required=False)
    store = forms.ModelChoiceField(Store.objects.all(), to_field_name="code", required=False,
                                   label=_("store"))
    occurred_at = forms.DateTimeField(label=_("time"), required=False,
                                      help_text=_("Empty means now."))
    basket = forms.CharField(
        label=_("basket"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One line per order line: SKU, category, net paid — e.g. “TEA-01, tea, "
                    "68.00”."))
    tier_multiplier = forms.DecimalField(
        label=_("benefit multiplier"), min_value=1, max_value=99, max_digits=4,
        decimal_places=2, initial=1, required=False,
        help_text=_("The points multiplier the member's tier or paid plan gives (it applies "
                    "last); see the member's page. Empty means 1."))

    def clean_member(self):
        from members.selectors.members import member_search_q

        term = self.cleaned_data["member"].strip()
        member = Member.objects.filter(member_search_q(term)).first() if term else None
        if member is None:
            raise forms.ValidationError(_("No member matches."))
        return member

    def clean_basket(self):
        lines = []
        for n, raw in enumerate(self.cleaned_data["basket"].splitlines(), start=1):
            if not raw.strip():
                continue
            parts = [p.strip() for p in raw.replace("，", ",").split(",")]
            if len(parts) != 3:
                raise forms.ValidationError(_("Line %(n)d: give SKU, category and net paid.")
                                            % {"n": n})
            try:  # NaN, Infinity and 1e30 are no amounts either (core.money)
                amount = to_money(parts[2])
            except ValueError:
                amount = None
            if amount is None or amount < 0:
                raise forms.ValidationError(_("Line %(n)d: “%(v)s” is not an amount.")
                                            % {"n": n, "v": parts[2][:40]})
            lines.append(BasketLine(line_no=n, sku=parts[0], category=parts[1],
                                    net_amount=amount))
        return tuple(lines)


@admin.register(EarningRule)
class EarningRuleAdmin(ModelAdmin):
    form = EarningRuleForm
    list_display = ("name", "rule_key", "version", "event", "formula", "summary", "priority",
                    "stop_further", "is_active", "budget")
    list_filter = (CurrentVersionFilter, "event", "formula", "is_active")
    search_fields = ("name", "rule_key")
    ordering = ("priority", "rule_key", "-version")
    readonly_fields = ("version_history",)
    fieldsets = (
        (None, {"fields": ("name", "rule_key", "is_active", "event", "custom_event",
                           "streak_day", "beneficiary", "priority", "stop_further"),
                "description": STACKING_HELP}),
        (_("Formula"), {"fields": ("formula", "fixed_points", "points_per_yuan", "rounding",
                                   "multiplier")}),
        (_("Conditions and scope"), {"fields": (
            "store_codes", "categories", "exclude_categories", "skus", "exclude_skus",
            "tag_ids", "min_order_amount", "valid_from", "valid_until", "weekdays",
            "month_days", "member_statuses")}),
        (_("Caps and budget"), {"fields": ("cap_period", "cap_times", "cap_points",
                                           "budget_points")}),
        (_("Versions"), {"fields": ("version_history",)}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # retire a rule by deactivating it; awards keep pointing at it

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_current:
            return False  # old versions are history
        return super().has_change_permission(request, obj)

    @admin.display(description=_("what it gives"))
    def summary(self, obj: EarningRule) -> str:
        if obj.formula == "fixed":
            text = _("%(n)d points") % {"n": obj.fixed_points}
        elif obj.formula == "per_yuan":
            text = _("%(n)s points per yuan") % {"n": obj.points_per_yuan.normalize()}
        else:
            text = "×%s" % obj.multiplier.normalize()
        if obj.cap_period:
            text = f"{text} · {obj.get_cap_period_display()}"
            if obj.cap_times is not None:
                text += " " + str(_("≤ %(n)d times") % {"n": obj.cap_times})
            if obj.cap_points is not None:
                text += " " + str(_("≤ %(n)d points") % {"n": obj.cap_points})
        return text

    @admin.display(description=_("budget left"))
    def budget(self, obj: EarningRule):
        return "-" if obj.budget_points is None else budget_left(obj.rule_key)

    @admin.display(description=_("versions"))
    def version_history(self, obj: EarningRule):
        if not obj.pk:
            return "-"
        rows = earning_rule_versions(obj.rule_key, count_up_to=EXACT_COUNT_LIMIT)
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("version"), _("created at"), _("created by"), _("awards"),
            format_html_join("", "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
                (r.version, timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M"),
                 r.created_by or "-", award_count_text(r.award_count)) for r in rows)))

    def save_model(self, request, obj, form, change):
        saved = earning_rule_save(rule=obj, user_id=request.user.pk)
        obj.pk, obj.version = saved.pk, saved.version
        if change:
            self.message_user(request, _("Saved as version %(v)d; earlier awards keep their "
                                         "explanation.") % {"v": saved.version}, messages.INFO)

    def get_urls(self):
        return [path("try/", permission_view(self.admin_site, self.try_it,
                                             "points.view_earningrule"),
                     name="points_earningrule_try")] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}),
                         "try_url": reverse("admin:points_earningrule_try")}
        return super().changelist_view(request, extra_context)

    def try_it(self, request):
        """Run an event or a basket for a member through the rules, writing nothing."""
        form = TryItForm(request.POST or None)
        results = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            store = data.get("store")
            results = rules_try(EarnRequest(
                event=data["event"], custom_event=data.get("custom_event") or "",
                member_id=data["member"].pk, occurred_at=data.get("occurred_at") or timezone.now(),
                store_code=store.code if store else None, lines=data["basket"],
                referrer_id=data["member"].referrer_id,
                tier_multiplier=data.get("tier_multiplier") or Decimal(1)))
        return TemplateResponse(request, "admin/points/try_rules.html", {
            **self.admin_site.each_context(request), "opts": EarningRule._meta,
            "title": _("Try the earning rules"), "form": form, "results": results,
            "total": sum(r.points for r in results if r.rule.formula != "multiplier")
            if results else 0,
        })
