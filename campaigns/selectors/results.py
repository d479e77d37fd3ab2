"""A campaign's results, per variant and for the control group, computed set-based from
campaign members, orders, the points ledger, coupons and gifts.

The unit is a campaign member row (a member on one occasion). Treated: rows acted on;
control: rows held out. Both are followed for the same attribution window from the row's
`assigned_at` (the moment the occasion took the member in), so treated and control are
measured alike.

- converted: at least one sale in the window;
- revenue: net paid on those sales, less whatever has been returned of them;
- cost: points credited under the campaign's ledger keys at the programme's value per
  point, plus the discount given by the campaign's coupons that were redeemed, plus gifts
  collected at their unit cost (a gift without a unit cost is counted, not priced), plus
  the cost of the touches sent (each channel's cost per message, recorded on the touch);
- lift: conversion rate treated − control, with a 95% interval by the two-proportion normal
  approximation (p₁ − p₂ ± 1.96·√(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂));
- incremental revenue: (revenue per treated row − per control row) × treated rows;
- ROI: (incremental revenue − cost) ÷ cost.
Touches: the campaign's messages by outcome — queued, sent, delivered, failed, dead — and
the refused ones by reason (capped, dnd, no_consent, quiet_hours); test sends not counted.
Without a control group (or with an empty one) lift, incremental revenue and ROI are
None: "unknown", never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

from points.models import PointsSettings

from ..models import Campaign

ATTRIBUTION_DAYS = 14
Z95 = Decimal("1.96")
RATE = Decimal("0.0001")
CENTS = Decimal("0.01")
ZERO = Decimal(0)

# one row per campaign member row that was acted on or held out: its arm, whether it
# converted, its revenue; then its cost (points, coupons used, gifts collected)
_ROWS_SQL = """
WITH cm AS (
    SELECT x.member_id, x.occasion, x.variant_id, x.state, x.assigned_at
    FROM campaigns_campaignmember x
    WHERE x.campaign_id = %(campaign)s AND x.state IN ('acted', 'control')
), sales AS (
    SELECT cm.member_id, cm.occasion, o.id, o.ordered_at, o.net_amount
           - COALESCE((SELECT sum(r.net_amount) FROM members_order r
                       WHERE r.original_order_id = o.id AND r.kind = 'return'), 0) AS net
    FROM cm JOIN members_order o
      ON o.member_id = cm.member_id AND o.kind = 'sale'
     AND o.ordered_at >= cm.assigned_at
     AND o.ordered_at < cm.assigned_at + make_interval(days => %(days)s)
), conv AS (
    SELECT member_id, occasion, count(*) AS orders, sum(net) AS revenue
    FROM sales GROUP BY member_id, occasion
), pts AS (
    SELECT cm.member_id, cm.occasion,
           e.available_delta + e.pending_delta - e.debt_delta AS points
    FROM cm JOIN points_pointsentry e
      ON e.source_key = 'campaign:' || %(campaign)s || ':' || cm.occasion || ':' || cm.member_id
    WHERE cm.state = 'acted'
), cpn AS (
    SELECT cm.member_id, cm.occasion, sum(c.discount) AS used, count(*) AS n
    FROM cm
    JOIN campaigns_campaignaction a ON a.variant_id = cm.variant_id AND a.kind = 'coupon'
    CROSS JOIN LATERAL generate_series(1, a.coupon_count) AS k(n)
    JOIN points_coupon c
      ON c.source_key = 'campaign:' || %(campaign)s || ':' || cm.occasion || ':'
                        || cm.member_id || ':' || a.id || ':' || k.n
    WHERE cm.state = 'acted' AND c.state = 'redeemed'
    GROUP BY cm.member_id, cm.occasion
), gft AS (
    SELECT g.member_id, g.occasion, count(*) AS n,
           sum(COALESCE(a.gift_unit_cost, 0)) AS cost,
           count(*) FILTER (WHERE a.gift_unit_cost IS NULL) AS unpriced
    FROM campaigns_campaigngift g
    JOIN campaigns_campaignaction a ON a.id = g.action_id
    WHERE g.campaign_id = %(campaign)s AND g.collected_at IS NOT NULL
    GROUP BY g.member_id, g.occasion
), msg AS (
    SELECT x.member_id, x.occasion, sum(x.cost) AS cost
    FROM campaigns_message x
    WHERE x.campaign_id = %(campaign)s AND NOT x.is_test AND x.cost <> 0
    GROUP BY x.member_id, x.occasion
)
SELECT cm.variant_id,
       count(*) AS members,
       count(conv.member_id) AS converted,
       COALESCE(sum(conv.orders), 0) AS orders,
       COALESCE(sum(conv.revenue), 0) AS revenue,
       COALESCE(sum(pts.points), 0) AS points,
       COALESCE(sum(cpn.n), 0) AS coupons_used,
       COALESCE(sum(cpn.used), 0) AS coupon_cost,
       COALESCE(sum(gft.n), 0) AS gifts,
       COALESCE(sum(gft.cost), 0) AS gift_cost,
       COALESCE(sum(gft.unpriced), 0) AS gifts_unpriced,
       COALESCE(sum(msg.cost), 0) AS message_cost
FROM cm
LEFT JOIN conv ON conv.member_id = cm.member_id AND conv.occasion = cm.occasion
LEFT JOIN pts ON pts.member_id = cm.member_id AND pts.occasion = cm.occasion
LEFT JOIN cpn ON cpn.member_id = cm.member_id AND cpn.occasion = cm.occasion
LEFT JOIN gft ON gft.member_id = cm.member_id AND gft.occasion = cm.occasion
             AND cm.state = 'acted'
LEFT JOIN msg ON msg.member_id = cm.member_id AND msg.occasion = cm.occasion
             AND cm.state = 'acted'
GROUP BY cm.variant_id
"""

# sales of treated and control rows by Beijing day of the sale, in the window
_DAYS_SQL = """
SELECT (o.ordered_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
       count(*) FILTER (WHERE x.state = 'acted') AS treated_orders,
       COALESCE(sum(o.net_amount) FILTER (WHERE x.state = 'acted'), 0) AS treated_revenue,
       count(*) FILTER (WHERE x.state = 'control') AS control_orders,
       COALESCE(sum(o.net_amount) FILTER (WHERE x.state = 'control'), 0) AS control_revenue
FROM campaigns_campaignmember x
JOIN members_order o
  ON o.member_id = x.member_id AND o.kind = 'sale'
 AND o.ordered_at >= x.assigned_at
 AND o.ordered_at < x.assigned_at + make_interval(days => %(days)s)
WHERE x.campaign_id = %(campaign)s AND x.state IN ('acted', 'control')
GROUP BY 1 ORDER BY 1
"""

_TOUCHES_SQL = """
SELECT CASE WHEN state = 'refused' THEN 'refused:' || refusal ELSE state END, count(*)
FROM campaigns_message WHERE campaign_id = %(campaign)s AND NOT is_test
GROUP BY 1
"""


@dataclass
class ArmResult:
    """The figures of one arm (a variant, all variants together, or the control group)."""

    code: str
    name: str
    members: int = 0
    converted: int = 0
    orders: int = 0
    revenue: Decimal = ZERO
    points: int = 0
    points_cost: Decimal = ZERO
    coupons_used: int = 0
    coupon_cost: Decimal = ZERO
    gifts: int = 0
    gift_cost: Decimal = ZERO
    gifts_unpriced: int = 0
    message_cost: Decimal = ZERO
    cost: Decimal = ZERO
    # against the control group; None: unknown
    lift: Decimal | None = None
    lift_low: Decimal | None = None
    lift_high: Decimal | None = None
    incremental_revenue: Decimal | None = None
    roi: Decimal | None = None

    @property
    def conversion_rate(self) -> Decimal | None:
        return None if not self.members else (Decimal(self.converted) / self.members
                                              ).quantize(RATE)

    @property
    def revenue_per_member(self) -> Decimal | None:
        return None if not self.members else (self.revenue / self.members).quantize(CENTS)

    def add(self, other: ArmResult) -> None:
        for name in ("members", "converted", "orders", "revenue", "points", "points_cost",
                     "coupons_used", "coupon_cost", "gifts", "gift_cost", "gifts_unpriced",
                     "message_cost", "cost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class DayResult:
    day: date
    treated_orders: int
    treated_revenue: Decimal
    control_orders: int
    control_revenue: Decimal


@dataclass
class CampaignResults:
    campaign: Campaign
    days_window: int
    points_per_yuan: int
    variants: list[ArmResult] = field(default_factory=list)
    treated: ArmResult | None = None
    control: ArmResult | None = None
    days: list[DayResult] = field(default_factory=list)
    # touches by outcome: queued, sent, delivered, failed, dead, refused:<reason>
    touches: dict[str, int] = field(default_factory=dict)

    @property
    def refused(self) -> dict[str, int]:
        return {k.split(":", 1)[1]: v for k, v in self.touches.items()
                if k.startswith("refused:")}

    @property
    def has_control(self) -> bool:
        return self.control is not None and self.control.members > 0


def compare(treated: ArmResult, control: ArmResult | None) -> None:
    """Lift with its 95% interval, incremental revenue and ROI of `treated` against
    `control`; left None (unknown) without a control group or treated members."""
    if control is None or not control.members or not treated.members:
        return
    n1, n2 = Decimal(treated.members), Decimal(control.members)
    p1, p2 = Decimal(treated.converted) / n1, Decimal(control.converted) / n2
    lift = p1 - p2
    margin = Z95 * (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2).sqrt()
    treated.lift = lift.quantize(RATE)
    treated.lift_low = (lift - margin).quantize(RATE)
    treated.lift_high = (lift + margin).quantize(RATE)
    incremental = (treated.revenue / n1 - control.revenue / n2) * n1
    treated.incremental_revenue = incremental.quantize(CENTS)
    if treated.cost > 0:
        treated.roi = ((incremental - treated.cost) / treated.cost).quantize(RATE)


def campaign_results(campaign: Campaign, *, days: int = ATTRIBUTION_DAYS) -> CampaignResults:
    """The campaign's results now, per variant, all variants together and the control
    group (see the module's words for each figure)."""
    rate = PointsSettings.load().points_per_yuan_value
    with connection.cursor() as cursor:
        cursor.execute(_ROWS_SQL, {"campaign": campaign.pk, "days": days})
        rows = {r[0]: r[1:] for r in cursor.fetchall()}
        cursor.execute(_DAYS_SQL, {"campaign": campaign.pk, "days": days})
        day_rows = cursor.fetchall()
        cursor.execute(_TOUCHES_SQL, {"campaign": campaign.pk})
        touches = dict(cursor.fetchall())
    result = CampaignResults(campaign=campaign, days_window=days, points_per_yuan=rate,
                             touches=touches)
    result.treated = ArmResult(code="*", name="")
    for variant in campaign.variants.order_by("code"):
        arm = _arm(variant.code, variant.name, rows.get(variant.pk), rate)
        result.variants.append(arm)
        result.treated.add(arm)
    if None in rows:
        result.control = _arm("control", "", rows[None], rate)
    for arm in [*result.variants, result.treated]:
        compare(arm, result.control)
    result.days = [DayResult(*row) for row in day_rows]
    return result


def _arm(code: str, name: str, row, rate: int) -> ArmResult:
    arm = ArmResult(code=code, name=name)
    if row is None:
        return arm
    (arm.members, arm.converted, arm.orders, arm.revenue, arm.points, arm.coupons_used,
     arm.coupon_cost, arm.gifts, arm.gift_cost, arm.gifts_unpriced, arm.message_cost) = (
        int(row[0]), int(row[1]), int(row[2]), Decimal(row[3]), int(row[4]), int(row[5]),
        Decimal(row[6]), int(row[7]), Decimal(row[8]), int(row[9]), Decimal(row[10]))
    arm.points_cost = (Decimal(arm.points) / rate).quantize(CENTS)
    arm.cost = arm.points_cost + arm.coupon_cost + arm.gift_cost + arm.message_cost
    return arm
