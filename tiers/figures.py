"""Figures operators watch: what benefits cost per tier and month, and how paid membership
performs. Each figure is a fixed handful of aggregate queries, whatever the member count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import DecimalField, ExpressionWrapper, F, Sum

from core.clock import programme_tz, resolve_now
from members.models import Member
from points.models import PointsSettings

from .benefit_models import BenefitUse, GrantCoupon, MultiplierBonus
from .models import Tier, TierSettings
from .paid_models import PaidMembership, PaidPlan

CENT = Decimal("0.01")


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """A calendar month in Beijing time, as aware bounds [start, end)."""
    first = month.replace(day=1)
    tz = programme_tz()
    return (datetime.combine(first, time.min, tzinfo=tz),
            datetime.combine(first + relativedelta(months=1), time.min, tzinfo=tz))


@dataclass(frozen=True)
class BenefitCost:
    """What one tier's (or one paid plan's) benefits cost in a month."""

    source: str  # "tier" or "plan"
    name: str
    units_used: int
    grants_cost: Decimal  # gifts, vouchers …: units used × their unit cost
    coupons_cost: Decimal  # coupons from coupon-pack grants: the discount they gave
    extra_points: int  # points added by multiplier benefits
    points_cost: Decimal  # those points at the programme's cash value

    @property
    def total(self) -> Decimal:
        return self.grants_cost + self.coupons_cost + self.points_cost


def benefit_cost_by_tier(*, month: date) -> list[BenefitCost]:
    """Cost per tier (then per paid plan) for the Beijing month: grants used × their unit
    cost at the time of use, the discount given by coupons from coupon-pack grants redeemed
    in the month, plus multiplier points at cash value (100 points = ¥1 by default)."""
    start, end = month_bounds(month)
    cost = ExpressionWrapper(F("units") * F("unit_cost"),
                             output_field=DecimalField(max_digits=14, decimal_places=2))
    uses = {(row["tier_id"], row["plan_id"]): row for row in
            BenefitUse.objects.filter(used_at__gte=start, used_at__lt=end)
            .values("tier_id", "plan_id").annotate(units_sum=Sum("units"), cost=Sum(cost))}
    bonuses = {(row["tier_id"], row["plan_id"]): row["points"] for row in
               MultiplierBonus.objects.filter(created_at__gte=start, created_at__lt=end)
               .values("tier_id", "plan_id").annotate(points=Sum("extra_points"))}
    coupons = {(row["grant__tier_id"], row["grant__plan_id"]): row["value"] for row in
               GrantCoupon.objects.filter(coupon__redeemed_at__gte=start,
                                          coupon__redeemed_at__lt=end)
               .values("grant__tier_id", "grant__plan_id")
               .annotate(value=Sum("coupon__discount"))}
    rate = (PointsSettings.objects.filter(singleton=True).first()
            or PointsSettings()).points_per_yuan_value or 100
    owners = [("tier", t.pk, None, t.name) for t in Tier.objects.order_by("rank")]
    owners += [("plan", None, p.pk, p.name) for p in PaidPlan.objects.order_by("duration_months")]
    rows = []
    for source, tier_id, plan_id, name in owners:
        use = uses.get((tier_id, plan_id), {})
        points = int(bonuses.get((tier_id, plan_id)) or 0)
        rows.append(BenefitCost(
            source=source, name=name, units_used=int(use.get("units_sum") or 0),
            grants_cost=(use.get("cost") or Decimal(0)).quantize(CENT),
            coupons_cost=(coupons.get((tier_id, plan_id)) or Decimal(0)).quantize(CENT),
            extra_points=points, points_cost=(Decimal(points) / rate).quantize(CENT)))
    return rows


@dataclass(frozen=True)
class PaidFigures:
    active_members: int
    paid_members: int  # paid until a time after `now`
    penetration: Decimal | None  # paid / active members
    not_paid_at_start: int
    conversions: int  # bought in the window while not paid (first purchase or returning)
    conversion_rate: Decimal | None
    periods_due: int  # paid periods that ended in the window
    periods_renewed: int  # … followed by another purchase before the grace days ran out
    renewal_rate: Decimal | None
    spend_per_paid_member: Decimal | None  # sales net paid in the window per member
    spend_per_other_member: Decimal | None


def _ratio(part: int | Decimal, whole: int) -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal("0.0001")) if whole else None


_WINDOW_SQL = """
SELECT
  (SELECT count(DISTINCT member_id) FROM tiers_paidpurchase
   WHERE period_start <= %(start)s AND period_end > %(start)s),
  (SELECT count(*) FROM tiers_paidpurchase
   WHERE kind IN ('new', 'returning') AND created_at >= %(start)s AND created_at < %(end)s),
  (SELECT count(*) FROM tiers_paidpurchase p
   WHERE p.period_end >= %(start)s AND p.period_end < %(due_end)s),
  (SELECT count(*) FROM tiers_paidpurchase p
   WHERE p.period_end >= %(start)s AND p.period_end < %(due_end)s
     AND EXISTS (SELECT 1 FROM tiers_paidpurchase q
                 WHERE q.member_id = p.member_id AND q.id > p.id
                   AND q.created_at < p.period_end + make_interval(days => %(grace)s))),
  (SELECT count(DISTINCT member_id) FROM tiers_paidpurchase
   WHERE period_start < %(end)s AND period_end > %(start)s)
"""

# The paid members' spend goes through the (member, ordered_at) index, member by member; the
# window's total is one range scan of the orders.
_SPEND_SQL = """
WITH paid AS (
    SELECT DISTINCT member_id FROM tiers_paidpurchase
    WHERE period_start < %(end)s AND period_end > %(start)s
)
SELECT
  (SELECT COALESCE(sum(o.net_amount), 0) FROM members_order o
   WHERE o.kind = 'sale' AND o.ordered_at >= %(start)s AND o.ordered_at < %(end)s),
  (SELECT COALESCE(sum(o.net_amount), 0) FROM paid
   JOIN members_order o ON o.member_id = paid.member_id
   WHERE o.kind = 'sale' AND o.ordered_at >= %(start)s AND o.ordered_at < %(end)s)
"""


def paid_membership_figures(*, start: datetime, end: datetime,
                            now: datetime | None = None) -> PaidFigures:
    """Paid membership over a window [start, end):
    - penetration: members paid now ÷ active members;
    - conversion: members who bought in the window while not paid (first purchase or
      after lapsing) ÷ active members not paid when it began;
    - renewal rate: paid periods that ended in the window (up to now) and were followed by
      another purchase within the decay grace days ÷ all of them;
    - spend: sales net paid in the window per member, for members paid at some time in
      the window against the other active members."""
    now = resolve_now(now)
    active = Member.objects.filter(status=Member.Status.ACTIVE).count()
    paid_now = PaidMembership.objects.filter(ends_at__gt=now).count()
    settings = TierSettings.objects.filter(singleton=True).first() or TierSettings()
    params = {"start": start, "end": end, "due_end": min(end, now),
              "grace": settings.decay_grace_days}
    with connection.cursor() as cursor:
        cursor.execute(_WINDOW_SQL, params)
        paid_at_start, conversions, due, renewed, paid_in_window = cursor.fetchone()
        cursor.execute(_SPEND_SQL, params)
        spend_all, spend_paid = cursor.fetchone()
    not_paid = max(0, active - paid_at_start)
    others = max(0, active - paid_in_window)
    return PaidFigures(
        active_members=active, paid_members=paid_now, penetration=_ratio(paid_now, active),
        not_paid_at_start=not_paid, conversions=conversions,
        conversion_rate=_ratio(conversions, not_paid), periods_due=due,
        periods_renewed=renewed, renewal_rate=_ratio(renewed, due),
        spend_per_paid_member=(Decimal(spend_paid) / paid_in_window).quantize(CENT)
        if paid_in_window else None,
        spend_per_other_member=(Decimal(spend_all - spend_paid) / others).quantize(CENT)
        if others else None)
