"""The lottery pages: a lottery with its prizes (editable while a draft), its commitment,
its figures (draws, members, prizes drawn and given, fallbacks, cost, stock left), open and
close; the recorded draws, read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import DeclaredPermissionsMixin, ReadOnlyAdminMixin, ScaleAdmin
from core.errors import LoyaltyError
from core.formats import number
from members.admin.search import MemberSearchMixin

from ..models import Lottery, LotteryCost, LotteryDraw, LotteryPrize, LotteryStatus, PrizeKind
from ..selectors.lottery import lottery_results
from ..services.lottery import lottery_close, lottery_create, lottery_open


class PrizeForm(forms.ModelForm):
    class Meta:
        model = LotteryPrize
        fields = ("name", "kind", "weight", "stock", "points", "coupon_template", "fallback",
                  "sort_order")

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == PrizeKind.POINTS and not data.get("points"):
            self.add_error("points", _("A points prize needs its points."))
        if kind != PrizeKind.POINTS and data.get("points"):
            self.add_error("points", _("Only a points prize has points."))
        if kind != PrizeKind.POINTS:
            data["points"] = None
        if kind == PrizeKind.COUPON and not data.get("coupon_template"):
            self.add_error("coupon_template", _("A coupon prize needs its coupon template."))
        if kind != PrizeKind.COUPON and data.get("coupon_template"):
            self.add_error("coupon_template", _("Only a coupon prize has a coupon template."))
        if data.get("weight") == 0:
            self.add_error("weight", _("The weight must be at least 1."))
        fallback = data.get("fallback")
        if fallback is not None:
            if self.instance.pk is not None and fallback.pk == self.instance.pk:
                self.add_error("fallback", _("A prize cannot fall back to itself."))
            elif fallback.lottery_id != self.instance.lottery_id:
                self.add_error("fallback", _("The fallback must be a prize of this lottery."))
        return data


class PrizeInline(TabularInline):
    model = LotteryPrize
    form = PrizeForm
    fk_name = "lottery"
    extra = 0
    raw_id_fields = ("coupon_template", "fallback")

    def _draft(self, obj) -> bool:
        return obj is None or obj.status == LotteryStatus.DRAFT

    # the odds are frozen once the lottery opens (a trigger refuses it in the database too)
    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


class LotteryForm(forms.ModelForm):
    class Meta:
        model = Lottery
        fields = ("code", "name", "cost_kind", "cost_points", "daily_limit", "member_limit",
                  "starts_at", "ends_at")

    def clean(self):
        data = super().clean()
        if data.get("cost_kind") == LotteryCost.POINTS and not data.get("cost_points"):
            self.add_error("cost_points", _("A lottery that costs points needs its cost."))
        for name in ("daily_limit", "member_limit"):
            if data.get(name) == 0:
                self.add_error(name, _("Leave it empty for no limit, or give at least 1."))
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and starts >= ends:
            self.add_error("ends_at", _("The end must come after the start."))
        return data


@admin.register(Lottery)
class LotteryAdmin(DeclaredPermissionsMixin, ModelAdmin):
    form = LotteryForm
    list_display = ("name", "code", "status", "cost_kind", "cost_points", "opened_at",
                    "closed_at")
    list_filter = ("status",)
    search_fields = ("name", "code")
    readonly_fields = ("status", "commitment", "odds_version", "opened_at", "closed_at",
                       "figures")
    inlines = [PrizeInline]
    actions = ["open_lotteries", "close_lotteries"]
    show_facets = admin.ShowFacets.NEVER

    def has_delete_permission(self, request, obj=None):
        return False  # draws point at a lottery: close it

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != LotteryStatus.DRAFT:
            # an open lottery keeps the terms its commitment was published with
            return [*LotteryForm.Meta.fields, *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            lottery_create(lottery=obj, now=timezone.now())

    @admin.display(description=_("figures"))
    def figures(self, obj):
        if obj.pk is None:
            return ""
        got = lottery_results(obj)
        head = format_html(
            "<p>{}: {} · {}: {} · {}: {} · {}: {} · {}: {}</p>",
            _("draws"), number(got["draws"]), _("members"), number(got["members"]),
            _("points spent"), number(got["points"]), _("entries used"),
            number(got["entries"]), _("fell back"), number(got["fell_back"]))
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((row["prize"].name, number(row["drawn"]), number(row["given"]),
              _("unlimited") if row["stock"] is None else number(row["stock"]))
             for row in got["prizes"]))
        return format_html(
            "{}<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>", head, _("prize"), _("drawn"), _("given"),
            _("stock left"), rows)

    def _each(self, request, queryset, service, done):
        ok = 0
        for lottery in queryset:
            try:
                service(lottery_id=lottery.pk, now=timezone.now())
                ok += 1
            except LoyaltyError as exc:
                self.message_user(request, f"{lottery}: {exc.message}", messages.ERROR)
        if ok:
            self.message_user(request, done % {"n": ok}, messages.SUCCESS)

    @admin.action(description=_("Open the selected lotteries (publishes the commitment)"),
                  permissions=["change"])
    def open_lotteries(self, request, queryset):
        self._each(request, queryset, lottery_open, _("%(n)d lotteries opened."))

    @admin.action(description=_("Close the selected lotteries (publishes the seed)"),
                  permissions=["change"])
    def close_lotteries(self, request, queryset):
        self._each(request, queryset, lottery_close, _("%(n)d lotteries closed."))


@admin.register(LotteryDraw)
class LotteryDrawAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("draw_id", "lottery", "member", "drawn_prize", "prize", "cost_points",
                    "cost_entries", "created_at")
    list_filter = ("lottery",)
    list_select_related = ("lottery", "member", "drawn_prize", "prize")
    show_facets = admin.ShowFacets.NEVER
