"""Reads of the growth ledger and the ladder: where a member stands and what is next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from django.db.models import Q

from core.clock import resolve_now
from members.selectors.orders import member_has_purchased

from ..models import EndPolicy, GrowthAccount, Tier, TierChange, TierSettings

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


# --- the highest tier a growth reaches ---------------------------------------------------------


def tier_for_growth(*, growth: int, purchased: bool) -> Tier | None:
    """The highest active tier (by rank) whose entry `growth` meets — no minimum, or a
    minimum at most `growth` — and, for a tier that requires a first purchase, only when the
    member has made one (`purchased`). None when no tier is reached."""
    qualifying = Tier.objects.filter(is_active=True).filter(
        Q(min_growth__isnull=True) | Q(min_growth__lte=growth))
    if not purchased:
        qualifying = qualifying.filter(requires_first_purchase=False)
    return qualifying.order_by("-rank").first()


def tier_for_growth_sql(*, growth: str, purchased: str, columns: str = "t.id",
                        ladder: str = "tiers_tier") -> str:
    """`tier_for_growth` as an SQL subquery of at most one row, for `LEFT JOIN LATERAL … ON
    TRUE`: `growth` and `purchased` are SQL expressions of the outer row, `columns` what to
    take from the tier `t`. `ladder` is the table (or CTE) of tiers: anything with the
    columns id, rank, is_active, min_growth and requires_first_purchase (the ladder preview
    passes proposed thresholds that way)."""
    return f"""(
        SELECT {columns} FROM {ladder} t
        WHERE t.is_active
          AND (t.min_growth IS NULL OR t.min_growth <= {growth})
          AND (NOT t.requires_first_purchase OR {purchased})
        ORDER BY t.rank DESC LIMIT 1
    )"""


def _growth_rate() -> Decimal:
    settings = TierSettings.objects.filter(singleton=True).first() or TierSettings()
    return Decimal(settings.growth_per_yuan)


def spend_for_growth(growth: int, rate: Decimal) -> Decimal | None:
    """The spend needed to reach a tier: the yuan that earn `growth` at `rate` growth per
    yuan, rounded up to the fen (what the member sees in the API and on their admin page;
    the ladder preview shows the same figure). None when the rate is 0."""
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
        needs_purchase = (bool(upcoming.requires_first_purchase)
                          and not member_has_purchased(member_id))
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


def tier_as_of(member_id: int, cutoff: datetime) -> Tier | None:
    """The member's tier just before `cutoff`, from the tier-change history (append-only):
    where the last change before it took them; None before any."""
    change = (TierChange.objects.filter(member_id=member_id, created_at__lt=cutoff)
              .select_related("to_tier").order_by("-created_at", "-id").first())
    return change.to_tier if change else None
