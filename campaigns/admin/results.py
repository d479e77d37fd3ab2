"""A campaign's results page (figures, per variant, control group, a by-day chart as an
inline SVG), its CSV export, and the targets-vs-actuals block of the campaign page."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.export import csv_stream
from core.formats import number, percent
from points.admin.liability import nice_scale

from ..models import Campaign, Message, Refusal
from ..selectors.forecast import Forecast
from ..selectors.results import ArmResult, CampaignResults, campaign_results
from ..selectors.targets import Targets, campaign_targets

CHART_HEIGHT, BAR, GAP, TICKS = 160, 10, 8, 4
AXIS_LEFT, AXIS_TOP, AXIS_BOTTOM = 72, 8, 28
SERIES = (("treated_revenue", _("Treated"), "#2e7d32"),
          ("control_revenue", _("Control group"), "#9e9e9e"))


def day_chart(results: CampaignResults) -> dict:
    """Net sales of treated and control members per Beijing day, side by side, on a round
    axis: coordinates the template draws as an SVG (no script)."""
    top = max([int(getattr(d, f)) for d in results.days for f, _l, _c in SERIES] + [0])
    step = nice_scale(top, TICKS)
    axis_max = step * TICKS
    group = BAR * len(SERIES) + GAP
    groups = []
    for i, day in enumerate(results.days):
        x = AXIS_LEFT + GAP + i * group
        bars = []
        for j, (figure, label, colour) in enumerate(SERIES):
            value = max(getattr(day, figure), 0)
            height = round(value * CHART_HEIGHT / axis_max)
            bars.append({"x": x + j * BAR, "y": AXIS_TOP + CHART_HEIGHT - height,
                         "height": height, "value_text": number(value, 2), "label": label,
                         "colour": colour})
        groups.append({"label": f"{day.day:%m-%d}", "centre": x + BAR * len(SERIES) // 2,
                       "bars": bars})
    ticks = [{"y": AXIS_TOP + CHART_HEIGHT - round(k * step * CHART_HEIGHT / axis_max),
              "label": number(k * step)} for k in range(TICKS + 1)]
    return {"groups": groups, "ticks": ticks, "left": AXIS_LEFT, "top": AXIS_TOP,
            "bottom": AXIS_TOP + CHART_HEIGHT,
            "width": AXIS_LEFT + GAP + max(len(groups), 1) * group,
            "height": AXIS_TOP + CHART_HEIGHT + AXIS_BOTTOM, "bar": BAR,
            "legend": [{"label": label, "colour": colour} for _f, label, colour in SERIES]}


def arm_cells(arm: ArmResult) -> list[object]:
    """One row of the table and of the export, in `ARM_HEADER` order."""
    return [arm.members, arm.converted, arm.conversion_rate, arm.revenue,
            arm.revenue_per_member, arm.points, arm.points_cost, arm.coupons_used,
            arm.coupon_cost, arm.gifts, arm.gift_cost, arm.cost, arm.lift, arm.lift_low,
            arm.lift_high, arm.incremental_revenue, arm.roi]


def arm_header() -> list[str]:
    return [gettext("members"), gettext("converted"), gettext("conversion rate"),
            gettext("revenue (¥)"), gettext("revenue per member (¥)"),
            gettext("points awarded"), gettext("points cost (¥)"), gettext("coupons used"),
            gettext("coupon cost (¥)"), gettext("gifts collected"), gettext("gift cost (¥)"),
            gettext("cost (¥)"), gettext("lift"), gettext("lift, 95% low"),
            gettext("lift, 95% high"), gettext("incremental revenue (¥)"), gettext("ROI")]


def arm_row(arm: ArmResult) -> dict:
    """An arm's figures as the page shows them: separators, rates as percentages, unknown
    as "unknown"."""
    unknown = gettext("unknown")
    return {
        "members": number(arm.members), "converted": number(arm.converted),
        "rate": percent(arm.conversion_rate), "revenue": number(arm.revenue, 2),
        "per_member": number(arm.revenue_per_member, 2), "points": number(arm.points),
        "points_cost": number(arm.points_cost, 2), "coupons": number(arm.coupons_used),
        "coupon_cost": number(arm.coupon_cost, 2), "gifts": number(arm.gifts),
        "gift_cost": number(arm.gift_cost, 2), "cost": number(arm.cost, 2),
        "lift": unknown if arm.lift is None else percent(arm.lift, 2),
        "interval": unknown if arm.lift is None
        else f"{percent(arm.lift_low, 2)} … {percent(arm.lift_high, 2)}",
        "incremental": unknown if arm.incremental_revenue is None
        else number(arm.incremental_revenue, 2),
        "roi": unknown if arm.roi is None else percent(arm.roi, 1),
    }


def results_page(admin_site, request, campaign_id: int) -> TemplateResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    results = campaign_results(campaign)
    rows = [(gettext("All variants"), arm_row(results.treated))]
    rows += [(f"{arm.code} {arm.name}".strip(), arm_row(arm)) for arm in results.variants]
    if results.control is not None:
        rows.append((gettext("Control group"), arm_row(results.control)))
    return TemplateResponse(request, "admin/campaigns/results.html", {
        **admin_site.each_context(request), "opts": Campaign._meta, "object": campaign,
        "title": _("Results of %(name)s") % {"name": campaign.name},
        "back_url": reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
        "export_url": reverse("admin:campaigns_campaign_results_export", args=[campaign.pk]),
        "results": results, "rows": rows, "chart": day_chart(results),
        "targets": targets_rows(campaign_targets(campaign, now=timezone.now())),
        "touches": touches_rows(results)})


def touches_rows(results) -> list[tuple[str, str]]:
    """(outcome, count) of the campaign's touches, refusals by reason, and their cost."""
    states = dict(Message.State.choices)
    reasons = dict(Refusal.choices)
    rows = [(str(states[state]), number(results.touches.get(state, 0)))
            for state in ("queued", "sent", "delivered", "failed", "dead")]
    rows += [(f"{states['refused']}: {reasons[reason]}",
              number(results.refused.get(reason, 0))) for reason in reasons]
    rows.append((gettext("cost of touches (¥)"), number(results.treated.message_cost, 2)))
    return rows


def results_export(request, campaign_id: int) -> StreamingHttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    results = campaign_results(campaign)
    arms = [("*", results.treated), *((a.code, a) for a in results.variants)]
    if results.control is not None:
        arms.append(("control", results.control))
    rows = ([code, *arm_cells(arm)] for code, arm in arms)
    response = StreamingHttpResponse(csv_stream([gettext("arm"), *arm_header()], rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="campaign-{campaign.code}'
                                       f'-results.csv"')
    return response


def targets_rows(t: Targets) -> list[tuple[str, str, str]]:
    """(KPI, target, actual) for the campaign page."""
    target = t.target
    period = target.get_period_display()
    rows = [
        (gettext("Sales vs a normal day"), f"{number(target.sales_multiple, 1)}×",
         "-" if t.sales_multiple is None else f"{number(t.sales_multiple, 2)}×"),
        (gettext("Normal day (member net sales, ¥)"), "",
         "-" if t.normal_day is None else
         gettext("%(amount)s over %(days)d days") % {"amount": number(t.normal_day, 2),
                                                     "days": t.baseline_days}),
        (gettext("Overall discount"), f"~{percent(target.discount_share)}",
         percent(t.discount_share)),
        (gettext("Frequency"),
         gettext("at most %(n)d per %(period)s") % {"n": target.max_campaigns,
                                                    "period": period},
         gettext("%(n)d in this period") % {"n": t.same_period}),
        (gettext("Lowest-price hook products"), "-", gettext("not tracked")),
    ]
    return rows


def targets_html(t: Targets) -> str:
    head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th></tr>", gettext("KPI"),
                       gettext("target"), gettext("actual"))
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", targets_rows(t))
    warning = ""
    if t.over_frequency:
        warning = format_html("<p class='errornote'>{}</p>", frequency_warning(t))
    return format_html("<table>{}{}</table>{}", head, body, warning)


def frequency_warning(t: Targets) -> str:
    return gettext("More campaigns of grade %(grade)s than its target allows: %(n)d in the "
                   "period, at most %(most)d.") % {"grade": t.grade, "n": t.same_period,
                                                   "most": t.target.max_campaigns}


def forecast_rows(f: Forecast) -> list[tuple[str, str]]:
    """The launch confirmation's forecast: figures with separators, unknown as unknown."""
    unknown = gettext("unknown")
    basis = {"template": gettext("from %(n)d past campaigns of the same play"),
             "grade": gettext("from %(n)d past campaigns of the same grade")}
    return [
        (gettext("Audience now"), number(f.audience)),
        (gettext("Control group (expected)"), number(f.control)),
        (gettext("Acted on (expected)"), number(f.treated)),
        (gettext("Expected cost (¥)"), unknown if f.cost is None else number(f.cost, 2)),
        (gettext("Expected conversions"),
         unknown if f.conversions is None else number(f.conversions)),
        (gettext("Expected revenue (¥)"),
         unknown if f.revenue is None else number(f.revenue, 2)),
        (gettext("Based on"), unknown if f.basis is None
         else basis[f.basis] % {"n": f.past_campaigns}),
    ]
