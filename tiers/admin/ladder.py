"""The ladder editor and the tier changes in the operator console."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin, ScaleAdmin, permission_view
from core.text import whole_number
from members.admin.search import MemberSearchMixin, member_link

from ..models import EndPolicy, ManualTier, Tier, TierChange
from ..selectors.ladder_preview import ladder_preview
from .benefits import BenefitAttachmentInline, IsolationWarningsMixin


def end_policy_words(tier: Tier) -> str:
    """What happens when the tier's validity ends, in plain words."""
    if not tier.validity_months:
        return str(_("Permanent"))
    policy = tier.end_policy
    if policy == EndPolicy.RESET:
        what = _("growth resets to 0")
    elif policy == EndPolicy.KEEP_PERCENT:
        percent = tier.keep_percent or 0
        if percent == 50:
            what = _("growth is halved (keep 50%)")
        else:
            what = _("growth is cut to %(p)d%% (keep %(p)d%%)") % {"p": percent}
    elif policy == EndPolicy.DEDUCT_FRACTION:
        what = _("%(n)d/%(d)d of growth is deducted") % {
            "n": tier.deduct_numerator or 0, "d": tier.deduct_denominator or 1}
    elif policy == EndPolicy.KEEP_IF_PERIOD_GROWTH:
        what = _("the tier is kept if the period's growth reached %(t)s; otherwise only "
                 "that period's growth still counts") % {"t": f"{tier.keep_threshold or 0:,}"}
    else:
        what = _("growth is kept")
    return str(_("After %(months)d months: %(what)s, then re-evaluated")
               % {"months": tier.validity_months, "what": what})


def entry_words(tier: Tier) -> str:
    """What a member needs to enter the tier, in plain words."""
    parts = []
    if tier.on_registration:
        parts.append(str(_("on registration")))
    if tier.min_growth is not None:
        parts.append(str(_("%(g)s growth") % {"g": f"{tier.min_growth:,}"}))
    if tier.requires_first_purchase:
        parts.append(str(_("a first purchase")))
    return " + ".join(parts) if parts else "-"


LADDER_HELP = _(
    "Upgrades happen at once: as soon as a member's growth (and first purchase, where "
    "required) meets a higher tier's entry, the member moves up. A tier with a validity "
    "is re-evaluated when it ends: its end-of-validity policy is applied to the growth, and "
    "the member gets the highest tier the remaining growth qualifies for. Getting the same "
    "tier again is a renewal (保级) for another period; a lower one is a downgrade. "
    "Downgrades happen only at re-evaluation, never when growth is taken back by a return. "
    "A tier without a validity is permanent.")


@admin.register(Tier)
class TierAdmin(IsolationWarningsMixin, ModelAdmin):
    list_display = ("rank", "name", "code", "entry", "validity", "end_of_validity",
                    "is_active")
    list_display_links = ("name",)
    list_filter = ("is_active",)
    ordering = ("rank",)
    raw_id_fields = ("tag",)
    inlines = [BenefitAttachmentInline]
    fieldsets = (
        (None, {"fields": ("code", "name", "rank", "is_active", "tag"),
                "description": LADDER_HELP}),
        (pgettext_lazy("tier entry condition", "Entry"), {
            "fields": ("min_growth", "requires_first_purchase", "on_registration"),
            "description": _("A member qualifies when every condition given holds.")}),
        (_("Validity and renewal (保级)"), {
            "fields": ("validity_months", "end_policy", "keep_percent", "deduct_numerator",
                       "deduct_denominator", "keep_threshold"),
            "description": _("When the validity ends the policy below is applied and the "
                             "member is re-evaluated: the same tier is renewed, a lower one "
                             "is a downgrade. Fill in only the parameter the policy uses.")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # members and records point at tiers: deactivate a tier instead

    def get_urls(self):
        return [path("preview/", permission_view(self.admin_site, self.preview_view,
                                                 "tiers.view_tier"),
                     name="tiers_tier_preview")] + super().get_urls()

    def preview_view(self, request):
        """The ladder on the real members with the thresholds typed in (GET t<tier id>);
        nothing is saved — the operator publishes by editing the tiers."""
        thresholds, errors = {}, []
        for tier in Tier.objects.filter(is_active=True, min_growth__isnull=False):
            raw = request.GET.get(f"t{tier.pk}", "").strip()
            if not raw:
                continue
            value = whole_number(raw, maximum=10**12)
            if value is not None:
                thresholds[tier.pk] = value
            else:
                errors.append(_("%(tier)s: the growth needed is a whole number of 0 or more.")
                              % {"tier": tier.name})
        rows = ladder_preview(thresholds=thresholds)
        return TemplateResponse(request, "admin/tiers/ladder_preview.html", {
            **self.admin_site.each_context(request), "opts": Tier._meta,
            "title": _("Preview the ladder on the real members"), "rows": rows,
            "errors": errors, "total": sum(r.members for r in rows),
        })

    @admin.display(description=pgettext_lazy("tier entry condition", "entry"))
    def entry(self, obj: Tier):
        return entry_words(obj)

    @admin.display(description=_("validity"))
    def validity(self, obj: Tier):
        if not obj.validity_months:
            return _("Permanent")
        return _("%(n)d months") % {"n": obj.validity_months}

    @admin.display(description=_("when validity ends"))
    def end_of_validity(self, obj: Tier):
        return end_policy_words(obj)


@admin.register(TierChange)
class TierChangeAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("id", "created_at", "member_no", "from_tier", "to_tier", "reason")
    list_select_related = ("member", "from_tier", "to_tier")
    list_filter = ("reason", "to_tier", ("created_at", admin.DateFieldListFilter))
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description=_("member"))
    def member_no(self, obj: TierChange):
        return member_link(obj.member_id, obj.member.member_no)


@admin.register(ManualTier)
class ManualTierAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    """Tiers operators gave members by hand; one is given on the member's page."""

    list_display = ("id", "created_at", "member_no", "tier", "reason", "ends_at", "operator",
                    "note_text")
    list_select_related = ("member", "tier", "operator", "note")
    fields = ("member", "tier", "reason", "note_text", "ends_at", "operator", "created_at")
    readonly_fields = ("note_text",)
    list_filter = ("reason", "tier")
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description=_("member"))
    def member_no(self, obj: ManualTier):
        return member_link(obj.member_id, obj.member.member_no)

    @admin.display(description=_("note"))
    def note_text(self, obj: ManualTier) -> str:
        note = obj.note
        return note.text if note is not None and note.erased_at is None else ""
