"""Reads of the growth ledger and the ladder: where a member stands and what is next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from django.db.models import Q
from django.utils.translation import gettext

from core.clock import resolve_now
from members.models import Order

from .benefit_models import BenefitAttachment, BenefitKind
from .models import EndPolicy, GrowthAccount, Tier, TierChange, TierSettings
from .paid_models import PaidMembership

CENT = Decimal("0.01")


@dataclass(frozen=True)
class NextTier:
    code: str
    name: str
    min_growth: int | None
    growth_needed: int
    needs_first_purchase: bool  # the tier needs a first purchase the member has not made
    spend_needed: Decimal | None  # yuan at the programme's growth rate; None if the rate is 0


@dataclass(frozen=True)
class TierProgress:
    member_id: int
    tier_code: str | None
    tier_name: str | None
    tier_since: datetime | None
    tier_valid_until: datetime | None  # when the tier must be renewed; None if permanent
    growth: int
    period_growth: int
    keep_growth_needed: int | None  # period growth still needed to keep the tier, if its policy asks
    next_tier: NextTier | None


def _growth_rate() -> Decimal:
    settings = TierSettings.objects.filter(singleton=True).first() or TierSettings()
    return Decimal(settings.growth_per_yuan)


def spend_for_growth(growth: int, rate: Decimal) -> Decimal | None:
    """The yuan that earn `growth` at `rate` growth per yuan, rounded up to the fen."""
    if rate <= 0:
        return None
    return (Decimal(growth) / rate).quantize(CENT, rounding=ROUND_CEILING)


def tier_progress(member_id: int, now: datetime | None = None) -> TierProgress:
    """The member's tier, growth and the way to the next tier (by rank). A member who never
    earned growth stands at 0 with no tier."""
    now = resolve_now(now)
    account = (GrowthAccount.objects.select_related("tier").filter(member_id=member_id).first()
               or GrowthAccount(member_id=member_id, growth=0, period_growth=0, updated_at=now))
    tier = account.tier
    growth, period_growth = int(account.growth), int(account.period_growth)

    keep_needed = None
    if tier is not None and tier.end_policy == EndPolicy.KEEP_IF_PERIOD_GROWTH:
        keep_needed = max(0, int(tier.keep_threshold or 0) - period_growth)

    ladder = Tier.objects.filter(is_active=True)
    if tier is not None:
        ladder = ladder.filter(rank__gt=tier.rank)
    upcoming = ladder.order_by("rank").first()
    next_tier = None
    if upcoming is not None:
        needed = max(0, int(upcoming.min_growth or 0) - growth)
        needs_purchase = bool(upcoming.requires_first_purchase) and not Order.objects.filter(
            member_id=member_id, kind=Order.Kind.SALE).exists()
        next_tier = NextTier(code=upcoming.code, name=upcoming.name,
                             min_growth=upcoming.min_growth, growth_needed=needed,
                             needs_first_purchase=needs_purchase,
                             spend_needed=spend_for_growth(needed, _growth_rate()))

    return TierProgress(
        member_id=member_id, tier_code=tier.code if tier else None,
        tier_name=tier.name if tier else None, tier_since=account.tier_since,
        tier_valid_until=account.tier_valid_until if tier else None, growth=growth,
        period_growth=period_growth, keep_growth_needed=keep_needed, next_tier=next_tier)


def tier_changes_for(member_id: int, limit: int = 20) -> list[TierChange]:
    """The member's latest tier changes, newest first."""
    return list(TierChange.objects.filter(member_id=member_id)
                .select_related("from_tier", "to_tier").order_by("-id")[:limit])



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


def _best(member_id: int, now: datetime | None, *, kind: str, field: str,
          higher_is_better: bool) -> AppliedBenefit:
    now = resolve_now(now)
    tier_id, plan_id = member_tier_and_plan(member_id, now)
    if tier_id is None and plan_id is None:
        return AppliedBenefit(ONE)
    best = AppliedBenefit(ONE)
    for attachment in _attachments(tier_id, plan_id).filter(benefit__kind=kind):
        value = getattr(attachment, field)
        if value is None:
            continue
        better = value > best.value if higher_is_better else value < best.value
        if better:
            best = AppliedBenefit(value, attachment.tier_id, attachment.plan_id)
    return best


def member_points_multiplier(*, member_id: int, now: datetime | None = None) -> AppliedBenefit:
    """The points multiplier earning applies for the member: the higher of the tier's and
    the active paid plan's (Gold 1.5×, annual plan 2× → 2×); 1 when neither gives one."""
    return _best(member_id, now, kind="points_multiplier", field="multiplier",
                 higher_is_better=True)


def member_discount_rate(*, member_id: int, now: datetime | None = None) -> AppliedBenefit:
    """The share of the price the member pays at checkout: the lower of the tier's and the
    active paid plan's exclusive discount (Gold 9.5折 = 0.95, plan 9折 = 0.90 → 0.90);
    1 when neither gives one."""
    return _best(member_id, now, kind="tier_discount", field="discount_rate",
                 higher_is_better=False)


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
