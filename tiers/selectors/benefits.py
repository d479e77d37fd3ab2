"""Reads of benefits: the benefit a member gets applied (the better of tier and active paid
plan, never stacked), what a member holds, warnings about the ladder's benefits, and what
benefits cost per tier and month (a fixed handful of aggregate queries, whatever the member
count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils.translation import gettext

from core.clock import programme_tz, resolve_now
from points.models import PointsSettings

from ..models import GrowthAccount, Tier
from ..models.benefits import (
    BenefitAttachment,
    BenefitKind,
    BenefitUse,
    GrantCoupon,
    MultiplierBonus,
)
from ..models.paid import PaidMembership, PaidPlan

# --- benefits the system applies ---------------------------------------------------------------
#
# The rule: a member holds the benefits of their current tier and, while a paid membership
# is active (paid until a time still ahead), those of its plan. Where both give the same
# applied benefit, the better one wins and they do not stack: the higher points multiplier
# (tier 1.5× and plan 2× give 2×), the lower discount rate (9.5折 and 9折 give 9折). This
# keeps the brand's cost of a member bounded by the best single offer it made them.

ONE = Decimal(1)


@dataclass(frozen=True)
class AppliedBenefit:
    """A multiplier or a discount rate and where it came from (None: no benefit gives it)."""

    value: Decimal
    tier_id: int | None = None
    plan_id: int | None = None


def member_tier_and_plan(member_id: int, now: datetime) -> tuple[int | None, int | None]:
    """The member's current tier and the plan of their active paid membership, if any."""
    tier_id = (GrowthAccount.objects.filter(member_id=member_id)
               .values_list("tier_id", flat=True).first())
    plan_id = (PaidMembership.objects.filter(member_id=member_id, ends_at__gt=now)
               .values_list("plan_id", flat=True).first())
    return tier_id, plan_id


def _attachments(tier_id: int | None, plan_id: int | None):
    owners = Q(pk__in=[])
    if tier_id is not None:
        owners |= Q(tier_id=tier_id)
    if plan_id is not None:
        owners |= Q(plan_id=plan_id)
    return (BenefitAttachment.objects.filter(owners, benefit__is_active=True)
            .select_related("benefit"))


# --- who holds a benefit -----------------------------------------------------------------------
#
# One rule, in Python and as SQL: a member holds every active benefit attached to their tier
# and to the plan of their active paid membership. Where tier and plan give the same thing,
# the better offer counts, never both: the larger quantity, then the higher multiplier, then
# the lower discount rate; on a tie the tier's. `holding_key` and HOLDING_ORDER_SQL are that
# order; the grant job (tiers.services.benefits) and the applied multiplier and discount rate
# below follow it.

HOLDING_ORDER_SQL = ("COALESCE({a}.quantity, 1) DESC, {a}.multiplier DESC NULLS LAST, "
                     "{a}.discount_rate ASC NULLS LAST, {a}.plan_id IS NOT NULL")


def holding_key(attachment: BenefitAttachment) -> tuple:
    """Sort key of the better offer first (HOLDING_ORDER_SQL in Python)."""
    return (-(attachment.quantity or 1),
            -attachment.multiplier if attachment.multiplier is not None else 1,
            attachment.discount_rate if attachment.discount_rate is not None else Decimal("Infinity"),
            attachment.plan_id is not None)


def member_benefit_holdings(*, member_id: int,
                            now: datetime | None = None) -> dict[int, BenefitAttachment]:
    """Benefit id → the attachment through which the member holds it (the better offer when
    tier and plan both give it)."""
    now = resolve_now(now)
    tier_id, plan_id = member_tier_and_plan(member_id, now)
    held: dict[int, BenefitAttachment] = {}
    for attachment in sorted(_attachments(tier_id, plan_id), key=holding_key):
        held.setdefault(attachment.benefit_id, attachment)
    return held


def benefit_holdings_sql(*, members: str, now: str) -> str:
    """`member_benefit_holdings` for many members as an SQL subquery: one row (member_id,
    benefit_id, tier_id, plan_id, multiplier, discount_rate, quantity — 1 when the
    attachment gives none) per member and benefit held. `members` is a condition on
    `h.member_id` (an id range, a list), `now` the SQL expression of the moment."""
    return f"""(
    SELECT DISTINCT ON (h.member_id, h.benefit_id)
           h.member_id, h.benefit_id, h.tier_id, h.plan_id, h.multiplier, h.discount_rate,
           COALESCE(h.quantity, 1) AS quantity
    FROM (SELECT a.member_id, ba.* FROM tiers_growthaccount a
          JOIN tiers_benefitattachment ba ON ba.tier_id = a.tier_id
          UNION ALL
          SELECT p.member_id, ba.* FROM tiers_paidmembership p
          JOIN tiers_benefitattachment ba ON ba.plan_id = p.plan_id
          WHERE p.ends_at > {now}) h
    JOIN tiers_benefit hb ON hb.id = h.benefit_id AND hb.is_active
    WHERE {members}
    ORDER BY h.member_id, h.benefit_id, {HOLDING_ORDER_SQL.format(a="h")}
    )"""


def _best(member_id: int, now: datetime | None, *, kind: str, field: str) -> AppliedBenefit:
    """The best of the benefits of `kind` the member holds, in the holding order."""
    def gives(a: BenefitAttachment) -> bool:  # better than nothing: above or below 1
        value = getattr(a, field)
        return value is not None and (value > ONE if field == "multiplier" else value < ONE)

    held = sorted((a for a in member_benefit_holdings(member_id=member_id, now=now).values()
                   if a.benefit.kind == kind and gives(a)), key=holding_key)
    if not held:
        return AppliedBenefit(ONE)
    return AppliedBenefit(getattr(held[0], field), held[0].tier_id, held[0].plan_id)


def member_points_multiplier(*, member_id: int, now: datetime | None = None) -> AppliedBenefit:
    """The points multiplier earning applies for the member: the higher of the tier's and
    the active paid plan's (Gold 1.5×, annual plan 2× → 2×); 1 when neither gives one."""
    return _best(member_id, now, kind="points_multiplier", field="multiplier")


def member_discount_rate(*, member_id: int, now: datetime | None = None) -> AppliedBenefit:
    """The share of the price the member pays at checkout: the lower of the tier's and the
    active paid plan's exclusive discount (Gold 9.5折 = 0.95, plan 9折 = 0.90 → 0.90);
    1 when neither gives one."""
    return _best(member_id, now, kind="tier_discount", field="discount_rate")


@dataclass(frozen=True)
class HeldBenefit:
    code: str
    name: str
    kind: str
    source: str  # "tier" or "plan"
    multiplier: Decimal | None
    discount_rate: Decimal | None
    quantity: int | None
    grant_period: str


def member_benefits(*, member_id: int, now: datetime | None = None) -> list[HeldBenefit]:
    """Every benefit the member holds now, from their tier and their active paid plan."""
    now = resolve_now(now)
    tier_id, plan_id = member_tier_and_plan(member_id, now)
    if tier_id is None and plan_id is None:
        return []
    return [HeldBenefit(code=a.benefit.code, name=a.benefit.name, kind=a.benefit.kind,
                        source="tier" if a.tier_id else "plan", multiplier=a.multiplier,
                        discount_rate=a.discount_rate, quantity=a.quantity,
                        grant_period=a.benefit.grant_period)
            for a in _attachments(tier_id, plan_id).order_by("benefit__kind", "benefit__code",
                                                             "id")]


@dataclass
class _KindOffer:
    multiplier: Decimal | None = None
    discount_rate: Decimal | None = None
    quantity: int = 0


def benefit_isolation_warnings() -> list[str]:
    """Higher tiers must be clearly better (isolation): for every benefit kind a lower tier
    has, each higher active tier must have it too, with a multiplier at least as high, a
    discount rate at least as low and at least as many a period. Returns what breaks it, in
    words, e.g. "Gold gets a smaller points multiplier (1.5×) than Silver (2×)."."""
    tiers = list(Tier.objects.filter(is_active=True).order_by("rank"))
    offers: dict[int, dict[str, _KindOffer]] = {t.pk: {} for t in tiers}
    # A new-member gift belongs to the entry tier by nature: higher tiers need not repeat it.
    for a in (BenefitAttachment.objects.filter(tier_id__in=offers, benefit__is_active=True)
              .exclude(benefit__kind=BenefitKind.NEW_MEMBER_GIFT).select_related("benefit")):
        offer = offers[a.tier_id].setdefault(a.benefit.kind, _KindOffer())
        if a.multiplier is not None:
            offer.multiplier = max(offer.multiplier or a.multiplier, a.multiplier)
        if a.discount_rate is not None:
            offer.discount_rate = min(offer.discount_rate or a.discount_rate, a.discount_rate)
        offer.quantity += a.quantity or 0
    warnings = []
    for i, lower in enumerate(tiers):
        for higher in tiers[i + 1:]:
            for kind, low in offers[lower.pk].items():
                high = offers[higher.pk].get(kind)
                words = {"higher": higher.name, "lower": lower.name,
                         "kind": BenefitKind(kind).label}
                if high is None:
                    warnings.append(gettext(
                        "%(higher)s has no %(kind)s benefit, which %(lower)s has.") % words)
                    continue
                if low.multiplier and (high.multiplier or ONE) < low.multiplier:
                    warnings.append(gettext(
                        "%(higher)s gets a smaller points multiplier (%(h)s×) than %(lower)s "
                        "(%(l)s×).") % {**words, "h": (high.multiplier or ONE).normalize(),
                                         "l": low.multiplier.normalize()})
                if low.discount_rate and (high.discount_rate or ONE) > low.discount_rate:
                    warnings.append(gettext(
                        "%(higher)s gets a worse discount (%(h)s) than %(lower)s (%(l)s).") % {
                        **words, "h": (high.discount_rate or ONE).normalize(),
                        "l": low.discount_rate.normalize()})
                if high.quantity < low.quantity:
                    warnings.append(gettext(
                        "%(higher)s gets fewer %(kind)s a period (%(h)d) than %(lower)s "
                        "(%(l)d).") % {**words, "h": high.quantity, "l": low.quantity})
    return warnings


# --- what benefits cost --------------------------------------------------------------------------

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
