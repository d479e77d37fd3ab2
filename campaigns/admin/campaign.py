"""The campaign pages: the list with status, grade, window, audience and budget spent; the
edit page with the campaign in plain words; launch with a confirmation showing the
audience size; pause, resume, cancel, copy; a test send of the message."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, StackedInline, TabularInline

from core.admin import AutocompleteInputMixin, DeclaredPermissionsMixin, permission_view
from core.errors import LoyaltyError
from core.formats import number

from ..models import (
    ActionKind,
    Campaign,
    CampaignAction,
    CampaignStatus,
    CampaignVariant,
    GradeTarget,
)
from ..selectors.campaigns import (
    campaign_audience_count,
    campaign_reached,
    campaign_spent,
    campaign_summary,
    window_words,
)
from ..selectors.forecast import campaign_forecast
from ..selectors.targets import campaign_targets
from ..services.copy import campaign_copy
from ..services.messages import campaign_test_send, message_variables_missing
from ..services.status import (
    campaign_cancel,
    campaign_pause,
    campaign_problems,
    campaign_resume,
    campaign_schedule,
)
from .results import (
    forecast_rows,
    frequency_warning,
    results_export,
    results_page,
    targets_html,
)


class VariantInline(TabularInline):
    model = CampaignVariant
    extra = 0
    fields = ("code", "name", "weight", "actions_link")
    readonly_fields = ("actions_link",)

    @admin.display(description=_("actions"))
    def actions_link(self, obj):
        if obj.pk is None:
            return ""
        url = reverse("admin:campaigns_campaignvariant_change", args=[obj.pk])
        return format_html("<a href='{}'>{}</a>", url, _("Edit the actions"))


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        exclude = ("status", "seed", "earning_rule_key", "created_at", "updated_at",
                   "is_template")

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and starts >= ends:
            self.add_error("ends_at", _("The end must come after the start."))
        return data


class TestSendForm(forms.Form):
    mobile = forms.CharField(label=_("your member mobile"), max_length=20,
                             help_text=_("The message is queued as a test for the member "
                                         "record with this mobile — use your own."))


@admin.register(Campaign)
class CampaignAdmin(AutocompleteInputMixin, DeclaredPermissionsMixin, ModelAdmin):
    form = CampaignForm
    list_display = ("name", "status", "grade", "window", "audience", "spent", "is_template")
    list_filter = ("status", "grade", "is_template")
    search_fields = ("name", "code")
    readonly_fields = ("summary", "status", "pages", "targets", "results")
    autocomplete_fields = ("segment",)
    filter_horizontal = ("exclude_segments",)
    inlines = [VariantInline]
    actions = ["launch", "pause", "resume", "cancel", "copy"]
    action_permissions = {"launch": "campaigns.change_campaign",
                          "copy": "campaigns.add_campaign"}
    show_facets = admin.ShowFacets.NEVER

    def has_delete_permission(self, request, obj=None):
        return False  # occasions, members and the ledger point at a campaign: cancel it

    def get_fields(self, request, obj=None):
        # the launch and test-send pages are linked only for those who may open them
        fields = list(super().get_fields(request, obj))
        if not (request.user.has_perm("campaigns.change_campaign")
                and request.user.has_perm("campaigns.add_message")):
            fields = [f for f in fields if f != "pages"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != CampaignStatus.DRAFT:
            # a launched campaign keeps what it was launched with
            return [f.name for f in Campaign._meta.concrete_fields
                    if f.name not in ("id", "description", "owner")] + [
                "summary", "exclude_segments", "pages", "targets", "results"]
        return self.readonly_fields

    @admin.display(description=_("in plain words"))
    def summary(self, obj):
        return campaign_summary(obj) if obj.pk else ""

    @admin.display(description=_("launch and test"))
    def pages(self, obj):
        if obj.pk is None:
            return ""
        return format_html(
            "<a href='{}'>{}</a> · <a href='{}'>{}</a>",
            reverse("admin:campaigns_campaign_launch", args=[obj.pk]), _("Launch…"),
            reverse("admin:campaigns_campaign_test_send", args=[obj.pk]), _("Test send"))

    @admin.display(description=_("targets and actuals"))
    def targets(self, obj):
        return targets_html(campaign_targets(obj, now=timezone.now())) if obj.pk else ""

    @admin.display(description=_("results"))
    def results(self, obj):
        if obj.pk is None:
            return ""
        return format_html("<a href='{}'>{}</a>",
                           reverse("admin:campaigns_campaign_results", args=[obj.pk]),
                           _("Results, lift and ROI"))

    @admin.display(description=_("window"))
    def window(self, obj):
        return window_words(obj)

    @admin.display(description=_("audience reached"))
    def audience(self, obj):
        return number(campaign_reached(obj))

    @admin.display(description=_("budget spent (¥)"))
    def spent(self, obj):
        spent = campaign_spent(obj)
        return "—" if spent is None else spent

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if not change:
            obj.created_at = now
            obj.owner = obj.owner or request.user
        obj.updated_at = now
        super().save_model(request, obj, form, change)
        if not change:
            CampaignVariant.objects.get_or_create(campaign=obj, code="A")

    def _each(self, request, queryset, service, done):
        ok = 0
        for campaign in queryset:
            try:
                service(campaign_id=campaign.pk, now=timezone.now())
                ok += 1
            except LoyaltyError as exc:
                self.message_user(request, f"{campaign}: {exc.message}", messages.ERROR)
        if ok:
            self.message_user(request, done % {"n": ok}, messages.SUCCESS)

    @admin.action(description=_("Launch the selected campaigns…"), permissions=["launch"])
    def launch(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Launch one campaign at a time."), messages.ERROR)
            return None
        return redirect("admin:campaigns_campaign_launch", queryset.get().pk)

    @admin.action(description=_("Pause the selected campaigns"), permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, campaign_pause, _("%(n)d campaigns paused."))

    @admin.action(description=_("Resume the selected campaigns"), permissions=["change"])
    def resume(self, request, queryset):
        self._each(request, queryset, campaign_resume, _("%(n)d campaigns resumed."))

    @admin.action(description=_("Cancel the selected campaigns (what was given stays)"),
                  permissions=["change"])
    def cancel(self, request, queryset):
        self._each(request, queryset, campaign_cancel, _("%(n)d campaigns cancelled."))

    @admin.action(description=_("Copy the selected campaigns as drafts"), permissions=["copy"])
    def copy(self, request, queryset):
        for campaign in queryset:
            campaign_copy(campaign_id=campaign.pk, owner_id=request.user.pk, now=timezone.now())
        self.message_user(request, _("%(n)d drafts created.") % {"n": queryset.count()},
                          messages.SUCCESS)

    def get_urls(self):
        return [
            path("<int:campaign_id>/launch/", permission_view(
                self.admin_site, self.launch_view, "campaigns.change_campaign"),
                name="campaigns_campaign_launch"),
            path("<int:campaign_id>/test-send/", permission_view(
                self.admin_site, self.test_send_view, "campaigns.add_message"),
                name="campaigns_campaign_test_send"),
            path("<int:campaign_id>/results/", permission_view(
                self.admin_site, self.results_view, "campaigns.view_campaign"),
                name="campaigns_campaign_results"),
            path("<int:campaign_id>/results.csv", permission_view(
                self.admin_site, results_export, "campaigns.view_campaign"),
                name="campaigns_campaign_results_export"),
        ] + super().get_urls()

    def results_view(self, request, campaign_id: int):
        return results_page(self.admin_site, request, campaign_id)

    def _page(self, request, campaign, template, **context):
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": Campaign._meta,
            "object": campaign, "summary": campaign_summary(campaign),
            "back_url": reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
            **context})

    def launch_view(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        problems = campaign_problems(campaign)
        targets = campaign_targets(campaign, now=timezone.now())
        if request.method == "POST" and not problems:
            try:
                campaign_schedule(campaign_id=campaign.pk, now=timezone.now())
            except LoyaltyError as exc:
                problems = [exc.message]
            else:
                self.message_user(request, _("Launched: it acts from its start time."),
                                  messages.SUCCESS)
                return redirect("admin:campaigns_campaign_change", campaign.pk)
        return self._page(request, campaign, "admin/campaigns/launch.html",
                          title=_("Launch %(name)s") % {"name": campaign.name},
                          problems=problems, warning=(frequency_warning(targets)
                                                      if targets.over_frequency else ""),
                          can_launch=campaign.status == CampaignStatus.DRAFT,
                          audience=number(campaign_audience_count(campaign, now=timezone.now())),
                          forecast=forecast_rows(campaign_forecast(campaign, now=timezone.now())))

    def test_send_view(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        form = TestSendForm(request.POST or None)
        rendered = None
        if request.method == "POST" and form.is_valid():
            try:
                _message, rendered = campaign_test_send(
                    campaign=campaign, mobile=form.cleaned_data["mobile"].strip(),
                    now=timezone.now())
            except LoyaltyError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _("Test message queued."), messages.SUCCESS)
        return self._page(request, campaign, "admin/campaigns/test_send.html",
                          title=_("Test send"), form=form, rendered=rendered)


class ActionFormSet(forms.BaseInlineFormSet):
    """A message's variables must be filled by the variant's other actions."""

    def clean(self):
        super().clean()
        kept = [f.cleaned_data for f in self.forms
                if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")]
        kinds = {data.get("kind") for data in kept}
        for data in kept:
            template = data.get("message_template")
            if data.get("kind") != ActionKind.MESSAGE or template is None:
                continue
            missing = message_variables_missing(template.body, kinds)
            if missing:
                raise forms.ValidationError(
                    _("The message “%(template)s” uses %(names)s, which no action of this "
                      "variant gives.") % {"template": template.name,
                                            "names": ", ".join("{%s}" % n for n in missing)})


class ActionInline(AutocompleteInputMixin, StackedInline):
    model = CampaignAction
    formset = ActionFormSet
    extra = 0
    autocomplete_fields = ("coupon_template", "tag")


@admin.register(CampaignVariant)
class CampaignVariantAdmin(ModelAdmin):
    list_display = ("campaign", "code", "name", "weight")
    search_fields = ("campaign__name", "code")
    inlines = [ActionInline]
    show_facets = admin.ShowFacets.NEVER


@admin.register(GradeTarget)
class GradeTargetAdmin(DeclaredPermissionsMixin, ModelAdmin):
    """The KPI targets of each grade: edited, never added or deleted (one row a grade)."""

    list_display = ("grade", "sales_multiple", "discount_share", "max_campaigns", "period")
    readonly_fields = ("grade",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
