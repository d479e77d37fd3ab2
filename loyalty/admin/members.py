"""The composed member page: balances, the two-step points adjustment, tier and benefits,
and the member's points and tier on a past day."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.utils import parse_date_str

from core.admin import link, permission_view
from core.clock import local_date, programme_tz
from core.errors import LoyaltyError
from core.export import csv_stream
from core.formats import number
from core.text import multiline_text, one_line_text
from members.admin.members import MemberAdmin as BaseMemberAdmin
from members.admin.members import TagFilter
from members.models import AccessEvent, Member
from members.services.access import access_record
from members.services.members import MemberInput
from points.expiry import end_of_local_day
from points.models import AdjustReason
from points.selectors import ledger as points_selectors
from points.selectors.as_of import points_as_of
from points.services.ledger import points_adjust
from points.services.posting import MAX_POINTS
from points.services.transfers import points_transfer
from tiers.models import ManualReason, Tier
from tiers.selectors import ladder as tier_selectors
from tiers.services.ladder import tier_set_manual

from ..services.intake import register_member
from .member_benefits import MemberBenefitsMixin

# Exporting the member list is reading members: whoever may open the list (its columns
# carry no mobile number); every export is recorded as an access event.
EXPORT_PERMISSION = "members.view_member"


class TierFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        return [(tier.pk, tier.name) for tier in Tier.objects.order_by("rank", "pk")]


def member_list_header() -> list[str]:
    return [gettext("member number"), gettext("name"), gettext("tier"), gettext("points"),
            gettext("net spend"), gettext("last purchase"), gettext("lifecycle stage"),
            gettext("status"), gettext("home store"), gettext("source channel"),
            gettext("joined")]


def member_list_rows(queryset, chunk: int = 2000):
    """The export's rows in keyset chunks of member ids, newest first as the list shows."""
    queryset = queryset.order_by("-pk").select_related(
        "home_store", "stats", "points_account", "growth_account__tier")
    last = None
    while True:
        page = queryset if last is None else queryset.filter(pk__lt=last)
        members = list(page[:chunk])
        if not members:
            return
        for m in members:
            stats = getattr(m, "stats", None)
            account = getattr(m, "points_account", None)
            growth = getattr(m, "growth_account", None)
            yield [m.member_no, m.name,
                   growth.tier.name if growth is not None and growth.tier else "",
                   account.available if account is not None else 0,
                   stats.net_spend if stats is not None else None,
                   local_date(stats.last_purchase_at) if stats is not None else None,
                   stats.get_lifecycle_display() if stats is not None and stats.lifecycle
                   else "",
                   m.get_status_display(), m.home_store.name if m.home_store else "",
                   m.get_source_channel_display(), local_date(m.created_at)]
        last = members[-1].pk


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


class AsOfForm(forms.Form):
    date = forms.DateField(label=_("Day"), help_text=_("Beijing calendar; the answer is as at "
                                                        "the end of the day."))

    def clean_date(self):
        day = self.cleaned_data["date"]
        today = local_date(timezone.now())
        if not date(2000, 1, 1) <= day <= today:
            raise forms.ValidationError(_("Choose a day from 2000-01-01 to today."))
        return day
class TransferPointsForm(forms.Form):
    receiver = forms.CharField(label=_("receiving member's number"), max_length=32,
                               validators=[one_line_text])
    points = forms.IntegerField(label=_("points"), min_value=1, max_value=MAX_POINTS)
    reason = forms.CharField(label=_("note"), max_length=200, required=False,
                             validators=[multiline_text],
                             help_text=_("Kept as a note beside the sender's ledger entry, "
                                         "with your name."))
    token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, sender: Member, **kwargs):
        super().__init__(*args, **kwargs)
        self.sender = sender

    def clean_receiver(self):
        number = self.cleaned_data["receiver"].strip()
        receiver = Member.objects.filter(member_no=number).first()
        if receiver is None:
            raise forms.ValidationError(_("No member has this number."))
        if receiver.pk == self.sender.pk:
            raise forms.ValidationError(_("A member cannot transfer points to themselves."))
        return receiver


class ManualTierForm(forms.Form):
    tier = forms.ModelChoiceField(label=_("tier"), queryset=Tier.objects.filter(is_active=True))
    reason = forms.ChoiceField(label=_("reason"), choices=ManualReason.choices)
    ends_on = forms.DateField(label=_("ends on"),
                              help_text=_("The last day (Beijing time) the tier is a floor; "
                                          "then the member goes where their growth reaches."))
    note = forms.CharField(label=_("note"), max_length=200, required=False,
                           validators=[multiline_text],
                           help_text=_("Kept as a note on the member, with your name."))

    def clean_ends_on(self):
        value = self.cleaned_data["ends_on"]
        if value <= local_date(timezone.now()):
            raise forms.ValidationError(_("Choose a day after today."))
        return value


class JoinDateFilter(RangeDateFilter):
    """Members who joined between two days of the Beijing calendar, both included."""

    def queryset(self, request, queryset):
        bounds = {}
        for suffix, lookup, shift in (("_from", "gte", 0), ("_to", "lt", 1)):
            raw = self.used_parameters.get(self.parameter_name + suffix)
            day = parse_date_str(raw) if isinstance(raw, str) else None
            if day is not None:
                bounds[f"{self.parameter_name}__{lookup}"] = datetime.combine(
                    day + timedelta(days=shift), time.min, tzinfo=programme_tz())
        return queryset.filter(**bounds)


class ProgrammeMemberAdmin(MemberBenefitsMixin, BaseMemberAdmin):
    """The member list with what an operator looks at first — tier, points, net spend, last
    purchase, lifecycle — each from the member's one-to-one rows in one joined query."""

    list_display = ("member_no", "name", "masked_mobile", "tier", "points", "net_spend",
                    "last_purchase", "lifecycle", "status", "home_store", "source_channel",
                    "created_at")
    list_select_related = ("home_store", "stats", "points_account", "growth_account__tier")
    list_filter = ("status", ("growth_account__tier", TierFilter), "home_store",
                   "source_channel", "stats__lifecycle", ("created_at", JoinDateFilter),
                   "gender", "marketing_consent", TagFilter)
    list_filter_submit = True  # unfold: the date range applies with one button
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
        links = [
            link(reverse("admin:points_pointsentry_changelist") + f"?q={obj.member_no}",
                 _("Points history"), "points.view_pointsentry"),
            link(reverse("admin:loyalty_member_points_as_of", args=[obj.pk]),
                 _("Points and tier on a past day"), "points.view_pointsentry"),
            link(reverse("admin:loyalty_member_adjust_points", args=[obj.pk]),
                 _("Adjust points"), "points.add_pointsentry", css_class="button"),
            link(reverse("admin:loyalty_member_transfer_points", args=[obj.pk]),
                 _("Transfer points"), "points.add_pointstransfer", css_class="button"),
        ]
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>"
            "<p>{}</p><p>{}</p>",
            _("available"), _("pending"), _("held"), _("debt"),
            number(account.available), number(account.pending), number(account.held),
            number(account.debt), expiring,
            format_html_join(" · ", "{}", ((item,) for item in links if item)),
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
        manual = link(reverse("admin:loyalty_member_manual_tier", args=[obj.pk]),
                      _("Set a tier by hand"), "tiers.add_manualtier", css_class="button")
        if progress.keep_growth_needed is not None:
            keep = _("Growth this period still needed to keep the tier: %(n)s") % {
                "n": f"{progress.keep_growth_needed:,}"}
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table><p>{}</p>"
            "<p>{}</p>",
            _("current tier"), _("valid until"), _("growth"), _("growth this period"),
            _("next tier"),
            progress.tier_name or "-", until, f"{progress.growth:,}",
            f"{progress.period_growth:,}", next_text, keep, manual,
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

    @admin.display(description=_("tier"))
    def tier(self, obj: Member):
        account = getattr(obj, "growth_account", None)
        return account.tier.name if account is not None and account.tier else "-"

    @admin.display(description=_("points"))
    def points(self, obj: Member):
        account = getattr(obj, "points_account", None)
        return number(account.available) if account is not None else "0"

    @admin.display(description=_("net spend"))
    def net_spend(self, obj: Member):
        stats = getattr(obj, "stats", None)
        return number(stats.net_spend, 2) if stats is not None else "-"

    @admin.display(description=_("last purchase"))
    def last_purchase(self, obj: Member):
        stats = getattr(obj, "stats", None)
        return local_date(stats.last_purchase_at).isoformat() if stats is not None else "-"

    @admin.display(description=_("lifecycle stage"))
    def lifecycle(self, obj: Member):
        stats = getattr(obj, "stats", None)
        return stats.get_lifecycle_display() if stats is not None and stats.lifecycle else "-"

    def changelist_view(self, request, extra_context=None):
        export = ""
        if request.user.has_perm(EXPORT_PERMISSION):
            query = request.GET.urlencode()
            export = reverse("admin:loyalty_member_export") + (f"?{query}" if query else "")
        return super().changelist_view(request, {**(extra_context or {}),
                                                 "export_url": export})

    def export_view(self, request):
        """The list as filtered and searched on the page, as CSV (every cell formula-safe);
        recorded as an access event before the rows stream."""
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect(reverse("admin:members_member_changelist") + "?e=1")
        queryset = changelist.get_queryset(request)
        access_record(kind=AccessEvent.Kind.MEMBER_EXPORT,
                      subject=f"member list: {request.GET.urlencode()}"[:200])
        rows = member_list_rows(queryset)
        response = StreamingHttpResponse(csv_stream(member_list_header(), rows),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="members.csv"'
        return response

    def get_urls(self):
        return [
            path("export/", permission_view(self.admin_site, self.export_view,
                                            EXPORT_PERMISSION),
                 name="loyalty_member_export"),
            path("<int:member_id>/adjust-points/", permission_view(
                self.admin_site, self.adjust_points, "points.add_pointsentry"),
                 name="loyalty_member_adjust_points"),
            path("<int:member_id>/as-of/", permission_view(
                self.admin_site, self.points_as_of, "points.view_pointsentry"),
                 name="loyalty_member_points_as_of"),
            path("<int:member_id>/manual-tier/", permission_view(
                self.admin_site, self.manual_tier, "tiers.add_manualtier"),
                 name="loyalty_member_manual_tier"),
            path("<int:member_id>/transfer-points/", permission_view(
                self.admin_site, self.transfer_points, "points.add_pointstransfer"),
                 name="loyalty_member_transfer_points"),
        ] + super().get_urls()

    def points_as_of(self, request, member_id: int):
        """The member's points, lots and tier at the end of a past day (Beijing calendar),
        read from the ledgers (points.selectors.as_of, tiers.selectors.ladder.tier_as_of)."""
        member = self.get_object(request, str(member_id))  # a clerk's stores only
        if member is None:
            raise Http404
        form = AsOfForm(request.GET or None)
        answer = tier = None
        if form.is_valid():
            answer = points_as_of(member_id=member.pk, day=form.cleaned_data["date"])
            tier = tier_selectors.tier_as_of(member.pk, answer.cutoff)
        return TemplateResponse(request, "admin/loyalty/points_as_of.html", {
            **self.admin_site.each_context(request), "opts": Member._meta, "member": member,
            "form": form, "answer": answer, "tier": tier,
            "title": _("Points and tier on a past day"),
        })

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

    def transfer_points(self, request, member_id: int):
        """Two steps: the form, then a confirmation showing both balances before and after.
        The confirmation carries a token, so submitting it twice transfers once."""
        member = self.get_object(request, str(member_id))  # a clerk's stores only
        if member is None:
            raise Http404
        account = points_selectors.account_for(member.pk)
        form = TransferPointsForm(request.POST or None, sender=member)
        confirming, receiver_account = False, None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            receiver_account = points_selectors.account_for(data["receiver"].pk)
            if account.available < data["points"]:
                form.add_error("points", _("Only %(n)d points are available.")
                               % {"n": account.available})
            elif "confirm" in request.POST and data["token"]:
                try:
                    points_transfer(sender_id=member.pk, receiver_id=data["receiver"].pk,
                                    points=data["points"], key=f"console:{data['token']}",
                                    note=data["reason"], operator_id=request.user.pk,
                                    now=timezone.now())
                except LoyaltyError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(request, _("Transferred %(points)s points from "
                                                 "%(sender)s to %(receiver)s.") % {
                        "points": data["points"], "sender": member.member_no,
                        "receiver": data["receiver"].member_no}, messages.SUCCESS)
                    return redirect(reverse("admin:members_member_change", args=[member.pk]))
            else:
                confirming = True
        return TemplateResponse(request, "admin/loyalty/transfer_points.html", {
            **self.admin_site.each_context(request), "opts": Member._meta, "member": member,
            "account": account, "form": form, "confirming": confirming,
            "receiver_account": receiver_account,
            "token": (form.cleaned_data.get("token") or uuid.uuid4()) if confirming else None,
            "title": _("Transfer points"),
        })

    def manual_tier(self, request, member_id: int):
        """Two steps: the form, then a confirmation naming the tier now and the one set."""
        member = self.get_object(request, str(member_id))  # a clerk's stores only
        if member is None:
            raise Http404
        progress = tier_selectors.tier_progress(member.pk, timezone.now())
        form = ManualTierForm(request.POST or None)
        confirming = False
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if "confirm" in request.POST:
                ends_at = end_of_local_day(data["ends_on"])
                try:
                    tier_set_manual(member_id=member.pk, tier_id=data["tier"].pk,
                                    reason=data["reason"], ends_at=ends_at, note=data["note"],
                                    operator_id=request.user.pk, now=timezone.now())
                except LoyaltyError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(request, _("%(member)s is on %(tier)s until %(day)s.") % {
                        "member": member.member_no, "tier": data["tier"].name,
                        "day": data["ends_on"].isoformat()}, messages.SUCCESS)
                    return redirect(reverse("admin:members_member_change", args=[member.pk]))
            else:
                confirming = True
        return TemplateResponse(request, "admin/loyalty/manual_tier.html", {
            **self.admin_site.each_context(request), "opts": Member._meta, "member": member,
            "progress": progress, "form": form, "confirming": confirming,
            "title": _("Set a tier by hand"),
        })


admin.site.unregister(Member)
admin.site.register(Member, ProgrammeMemberAdmin)
