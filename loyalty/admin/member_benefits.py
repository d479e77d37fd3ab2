"""The benefits section of the member page: what the member's tier and paid plan give, the
multiplier and discount the system applies, the paid membership and the latest grants."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import link
from members.models import Member
from tiers.models.benefits import BenefitGrant
from tiers.models.paid import PaidMembership
from tiers.selectors import benefits as tier_selectors


def _day(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d")


class MemberBenefitsMixin:
    @admin.display(description=_("benefits"))
    def benefits_section(self, obj: Member):
        if not obj.pk:
            return "-"
        now = timezone.now()
        multiplier = tier_selectors.member_points_multiplier(member_id=obj.pk, now=now).value
        rate = tier_selectors.member_discount_rate(member_id=obj.pk, now=now).value
        membership = PaidMembership.objects.select_related("plan").filter(member_id=obj.pk).first()
        if membership is None:
            paid = _("no paid membership")
        elif membership.ends_at > now:
            paid = _("%(plan)s, paid until %(end)s") % {"plan": membership.plan.name,
                                                       "end": _day(membership.ends_at)}
        else:
            paid = _("%(plan)s, lapsed on %(end)s") % {"plan": membership.plan.name,
                                                      "end": _day(membership.ends_at)}
        held = ", ".join(f"{b.name} ({_('tier') if b.source == 'tier' else _('paid plan')})"
                         for b in tier_selectors.member_benefits(member_id=obj.pk, now=now))
        grants = (BenefitGrant.objects.filter(member_id=obj.pk).select_related("benefit")
                  .order_by("-id")[:10])
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td>"
                                    "<td>{}</td></tr>",
                                ((g.benefit.name, g.period, g.used_quantity, g.quantity,
                                  g.get_status_display(), _day(g.expires_at)) for g in grants))
        all_grants = link(reverse("admin:tiers_benefitgrant_changelist")
                          + f"?q={obj.member_no}", _("All grants of this member"),
                          "tiers.view_benefitgrant")
        return format_html(
            "<p>{}: ×{} · {}: {} · {}: {}</p><p>{}: {}</p>"
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>"
            "<p>{}</p>",
            _("points multiplier"), multiplier.normalize(), _("discount rate"),
            rate.normalize(), _("paid membership"), paid, _("benefits held"), held or "-",
            _("benefit"), _("period"), _("used"), _("status"), _("expires at"), rows,
            all_grants)
