"""What a campaign is expected to do, shown on the launch confirmation.

- audience: members an occasion starting now would take in; control: the expected share
  held out (audience × control %); treated: the rest.
- expected cost per treated member: points at the programme's value, each coupon's face
  value × the historical use rate of its template (redeemed ÷ issued, redeemed or expired
  coupons of that template), gifts at unit cost — the variants weighted by their weights.
  A coupon template with no history, or a gift without a unit cost, makes the cost unknown.
- expected conversions and revenue: the conversion rate and revenue per treated member of
  past campaigns (launched, not this one) copied from the same play; without any, of the
  same grade; none → unknown. Never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from points.models import PointsSettings

from ..models import ActionKind, Campaign, CampaignAction, CampaignStatus
from .campaigns import campaign_audience_count
from .results import campaign_results

CENTS = Decimal("0.01")
PAST = (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.ENDED)
MAX_PAST = 20


@dataclass(frozen=True)
class Forecast:
    audience: int
    control: int
    treated: int
    cost: Decimal | None
    basis: str | None  # "template", "grade" or None (unknown)
    past_campaigns: int
    conversions: int | None
    revenue: Decimal | None


def coupon_use_rate(template_id: int) -> Decimal | None:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FILTER (WHERE state = 'redeemed'), count(*)
                          FROM points_coupon WHERE template_id = %s
                            AND state IN ('issued', 'redeemed', 'expired')""", [template_id])
        redeemed, issued = cursor.fetchone()
    return None if not issued else Decimal(redeemed) / issued


def cost_per_member(campaign: Campaign) -> Decimal | None:
    """Expected cost of acting on one member, the variants weighted; None if unknown."""
    rate = PointsSettings.load().points_per_yuan_value
    variants = list(campaign.variants.all())
    total_weight = sum(v.weight for v in variants)
    if not total_weight:
        return None
    expected = Decimal(0)
    for variant in variants:
        cost = Decimal(0)
        for action in CampaignAction.objects.filter(variant=variant).select_related(
                "coupon_template"):
            if action.kind == ActionKind.POINTS:
                cost += Decimal(action.points) / rate
            elif action.kind == ActionKind.COUPON:
                template = action.coupon_template
                face = template.amount if template.amount is not None else template.max_discount
                use = coupon_use_rate(template.pk)
                if face is None or use is None:
                    return None
                cost += face * use * action.coupon_count
            elif action.kind == ActionKind.GIFT:
                if action.gift_unit_cost is None:
                    return None
                cost += action.gift_unit_cost
        expected += cost * variant.weight / total_weight
    return expected


def past_campaigns(campaign: Campaign) -> tuple[str | None, list[Campaign]]:
    """Launched campaigns copied from the same play, else of the same grade (newest
    first, at most 20), and which rule found them."""
    past = (Campaign.objects.filter(is_template=False, status__in=PAST)
            .exclude(pk=campaign.pk).order_by("-created_at"))
    if campaign.template_id is not None:
        same = list(past.filter(template_id=campaign.template_id)[:MAX_PAST])
        if same:
            return "template", same
    same = list(past.filter(grade=campaign.grade)[:MAX_PAST])
    return ("grade", same) if same else (None, [])


def campaign_forecast(campaign: Campaign, *, now: datetime) -> Forecast:
    audience = campaign_audience_count(campaign, now=now)
    control = round(audience * campaign.control_percent / 100)
    treated = audience - control
    per_member = cost_per_member(campaign)
    cost = None if per_member is None else (per_member * treated).quantize(CENTS)
    basis, past = past_campaigns(campaign)
    members = converted = 0
    revenue = Decimal(0)
    for other in past:
        arm = campaign_results(other).treated
        members += arm.members
        converted += arm.converted
        revenue += arm.revenue
    if not members:
        return Forecast(audience, control, treated, cost, None, len(past), None, None)
    return Forecast(audience, control, treated, cost, basis, len(past),
                    round(Decimal(converted) * treated / members),
                    (revenue * treated / members).quantize(CENTS))
