"""The top layer composes the operator console: pages that span elements live here."""

from __future__ import annotations

from dataclasses import replace

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import AutocompleteInputMixin, permission_view
from core.errors import LoyaltyError
from core.formats import number
from core.text import multiline_text
from members.admin import MemberAdmin as BaseMemberAdmin
from members.models import Member
from members.services import MemberInput
from points import selectors as points_selectors
from points.models import AdjustReason
from points.services import MAX_POINTS, points_adjust
from tiers import selectors as tier_selectors

from . import beat_admin  # noqa: F401  (the periodic tasks pages, translated)
from .intake import register_member
from .member_benefits_admin import MemberBenefitsMixin
from .models import ApiKey, Scope
from .services import api_key_create, api_key_reassign, api_key_revoke

admin.site.site_header = _("Loyalty back office")
admin.site.site_title = _("Loyalty back office")
admin.site.index_title = _("Member programme")


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(label=_("points"), min_value=-MAX_POINTS, max_value=MAX_POINTS,
                                help_text=_("Positive adds points, negative removes them."))
    reason_code = forms.ChoiceField(label=_("reason"), choices=AdjustReason.choices)
    reason = forms.CharField(label=_("note"), max_length=200, validators=[multiline_text],
                             help_text=_("Required. Kept as a note beside the ledger entry, "
                                         "with your name."))

    def clean_points(self):
        value = self.cleaned_data["points"]
        if value == 0:
            raise forms.ValidationError(_("Enter a number other than 0."))
        return value


class MemberAdmin(MemberBenefitsMixin, BaseMemberAdmin):
    readonly_fields = BaseMemberAdmin.readonly_fields + ("points_balances", "tier_progress",
                                                         "tier_history", "benefits_section")
    fieldsets = BaseMemberAdmin.fieldsets[:1] + (
        (_("Points"), {"fields": ("points_balances",)}),
        (_("Tier"), {"fields": ("tier_progress", "tier_history")}),
        (_("Benefits"), {"fields": ("benefits_section",)}),
    ) + BaseMemberAdmin.fieldsets[1:]

    def register(self, request, data: MemberInput) -> Member:
        # An enrolment from the console is a registration like any other: it goes through
        # the intake so every element hears of it.
        return register_member(data=replace(data, enrolled_by_id=request.user.pk)).member

    @admin.display(description=_("points"))
    def points_balances(self, obj: Member):
        if not obj.pk:
            return "-"
        account = points_selectors.account_for(obj.pk)
        soon = points_selectors.points_expiring_soon(member_id=obj.pk)
        expiring = (_("%(points)s points expire by %(date)s.") % {
            "points": number(soon.points), "date": soon.date} if soon.points else
            _("No points expire in the next %(days)s days.") % {"days": soon.within_days})
        entries = reverse("admin:points_pointsentry_changelist") + f"?q={obj.member_no}"
        adjust = reverse("admin:loyalty_member_adjust_points", args=[obj.pk])
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>"
            "<p>{}</p><p><a href='{}'>{}</a> · <a class='button' href='{}'>{}</a></p>",
            _("available"), _("pending"), _("held"), _("debt"),
            number(account.available), number(account.pending), number(account.held),
            number(account.debt), expiring,
            entries, _("Points history"), adjust, _("Adjust points"),
        )

    @admin.display(description=_("tier"))
    def tier_progress(self, obj: Member):
        if not obj.pk:
            return "-"
        progress = tier_selectors.tier_progress(obj.pk, timezone.now())
        until = (timezone.localtime(progress.tier_valid_until).date().isoformat()
                 if progress.tier_valid_until else _("permanent"))
        nxt = progress.next_tier
        if nxt is None:
            next_text = _("(highest tier)")
        else:
            parts = [_("%(g)s growth") % {"g": f"{nxt.growth_needed:,}"}]
            if nxt.spend_needed is not None:
                parts.append(_("about ¥%(y)s of spend") % {"y": f"{nxt.spend_needed:,}"})
            if nxt.needs_first_purchase:
                parts.append(_("a first purchase"))
            next_text = _("%(tier)s: still needs %(what)s") % {
                "tier": nxt.name, "what": ", ".join(str(p) for p in parts)}
        keep = ""
        if progress.keep_growth_needed is not None:
            keep = _("Growth this period still needed to keep the tier: %(n)s") % {
                "n": f"{progress.keep_growth_needed:,}"}
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table><p>{}</p>",
            _("current tier"), _("valid until"), _("growth"), _("growth this period"),
            _("next tier"),
            progress.tier_name or "-", until, f"{progress.growth:,}",
            f"{progress.period_growth:,}", next_text, keep,
        )

    @admin.display(description=_("tier changes (latest 20)"))
    def tier_history(self, obj: Member):
        if not obj.pk:
            return "-"
        changes = tier_selectors.tier_changes_for(obj.pk, limit=20)
        if not changes:
            return _("No tier changes yet.")
        rows = format_html_join("", "<tr><td>{} → {}</td><td>{}</td><td>{}</td></tr>", (
            (c.from_tier.name if c.from_tier else "-", c.to_tier.name if c.to_tier else "-",
             c.get_reason_display(), timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"))
            for c in changes))
        return format_html("<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                           _("from → to"), _("reason"), _("time"), rows)

    def get_urls(self):
        return [
            path("<int:member_id>/adjust-points/", permission_view(
                self.admin_site, self.adjust_points, "points.add_pointsentry"),
                 name="loyalty_member_adjust_points"),
        ] + super().get_urls()

    def adjust_points(self, request, member_id: int):
        """Two steps: the form, then a confirmation showing the balance before and after."""
        member = self.get_object(request, str(member_id))  # a clerk's stores only
        if member is None:
            raise Http404
        account = points_selectors.account_for(member.pk)
        form = AdjustPointsForm(request.POST or None)
        confirming = False
        if request.method == "POST" and form.is_valid():
            points, reason = form.cleaned_data["points"], form.cleaned_data["reason"]
            reason_code = form.cleaned_data["reason_code"]
            if points < 0 and account.available < -points:
                form.add_error("points", _("Only %(n)d points are available.") % {"n": account.available})
            elif "confirm" in request.POST:
                try:
                    points_adjust(member_id=member.pk, points=points, reason=reason,
                                  reason_code=reason_code, operator_id=request.user.pk,
                                  now=timezone.now())
                except LoyaltyError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(request, _("Adjusted %(member)s by %(points)+d points.")
                                      % {"member": member.member_no, "points": points},
                                      messages.SUCCESS)
                    return redirect(reverse("admin:members_member_change", args=[member.pk]))
            else:
                confirming = True
        return TemplateResponse(request, "admin/loyalty/adjust_points.html", {
            **self.admin_site.each_context(request), "opts": Member._meta, "member": member,
            "account": account, "form": form, "confirming": confirming,
            "after": account.available + (form.cleaned_data.get("points") or 0)
            if confirming else None,
            "title": _("Adjust points"),
        })


admin.site.unregister(Member)
admin.site.register(Member, MemberAdmin)


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
class ApiKeyAdmin(AutocompleteInputMixin, admin.ModelAdmin):
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


from . import access_admin  # noqa: E402,F401  (staff accounts, audit trail, access events)
