"""Benefit grants and their use, and the record of what multipliers added to earning.

Grants: a benefit with a grant period is granted to every member whose tier or active paid
plan holds it, once per member, benefit and period — the UNIQUE (member, benefit, period)
with INSERT … ON CONFLICT DO NOTHING makes the daily job safe to re-run, to run late and to
run twice at the same moment. Periods follow the Beijing calendar: March's pack is
"2026-03" from 00:00 on 1 March in Beijing (16:00 UTC on 28 February).

Claiming (领取) and using (核销) a grant lock its row: a grant is claimed at most once and
never used beyond its quantity. Grants not used up by their expiry expire (daily job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction

from core.batch import execute_limited
from core.clock import local_date, programme_tz, resolve_now
from members.models import Member
from members.services.batch import batch_by_ranges, batch_in_chunks, batch_run
from points.services.coupons import coupon_issue
from points.services.ledger import Movement
from points.services.rules import EarnOutcome

from ..errors import TierError, TierErrorCode
from ..locks import lock_benefit_grant
from ..models.benefits import (
    COUPON_KINDS,
    BenefitGrant,
    BenefitUse,
    GrantCoupon,
    GrantPeriod,
    GrantStatus,
    MultiplierBonus,
)
from ..selectors.benefits import AppliedBenefit, benefit_holdings_sql

ONE = Decimal(1)
MAX_UNITS = 1000


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=programme_tz())


# --- granting: set-based SQL over chunks of member ids -----------------------------------------

# Who holds a benefit: tiers.selectors.benefits (benefit_holdings_sql — through their tier, or
# through a paid plan whose period is still running; the better offer when both give it).
_GRANT_SQL = """
INSERT INTO tiers_benefitgrant (member_id, benefit_id, period, tier_id, plan_id, quantity,
                                used_quantity, status, granted_at, expires_at)
SELECT h.member_id, h.benefit_id, %(period)s, h.tier_id, h.plan_id, h.quantity, 0, 'granted',
       %(now)s, {expires}
FROM {holdings} h
JOIN tiers_benefit b ON b.id = h.benefit_id
JOIN members_member m ON m.id = h.member_id
WHERE b.grant_period = %(grant_period)s AND {may_earn} {condition}
ORDER BY h.member_id, h.benefit_id
ON CONFLICT (member_id, benefit_id, period) DO NOTHING
"""

_GRANTS = {
    # the month's grant, valid to the end of the month
    GrantPeriod.MONTHLY: ("%(month_end)s", ""),
    # in the birthday month, once that year, valid to the end of the month
    GrantPeriod.BIRTHDAY_MONTH: ("%(month_end)s",
                                 "AND EXTRACT(MONTH FROM m.birthday) = %(month)s"),
    # once, to a member who joined within the benefit's valid days, valid that long
    GrantPeriod.ON_JOINING: ("m.created_at + make_interval(days => b.valid_days)",
                             "AND m.created_at + make_interval(days => b.valid_days) > %(now)s"),
}


def _period_key(grant_period: str, today: date) -> str:
    if grant_period == GrantPeriod.MONTHLY:
        return f"{today:%Y-%m}"
    if grant_period == GrantPeriod.BIRTHDAY_MONTH:
        return f"{today:%Y}"
    return "joining"


def benefit_grants_issue(*, grant_period: str, now: datetime | None = None,
                         chunk: int = 20_000, run_key: str | None = None) -> int:
    """Grant one kind of period's benefits to every member who holds them; returns the
    grants written by the run (0 on a re-run: ON CONFLICT). Members are taken in id ranges,
    one statement and one transaction per range, with the run's position (members.services.batch)."""
    progress = batch_run(f"benefits.grant.{grant_period}", run_key=run_key,
                         now=resolve_now(now))
    now = progress.now
    expires, condition = _GRANTS[GrantPeriod(grant_period)]
    sql = _GRANT_SQL.format(expires=expires, condition=condition,
                            may_earn=Member.can_earn_or_spend_sql("m"),
                            holdings=benefit_holdings_sql(
                                members="h.member_id BETWEEN %(lo)s AND %(hi)s", now="%(now)s"))
    today = local_date(now)
    params = {"now": now, "grant_period": grant_period, "month": today.month,
              "period": _period_key(grant_period, today),
              "month_end": _local_midnight(today.replace(day=1) + relativedelta(months=1))}
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM members_member")
        lowest, highest = cursor.fetchone()

    def apply(lo: int, hi: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "lo": lo, "hi": hi - 1})
            return cursor.rowcount

    return batch_by_ranges(progress, low=lowest, high=highest, size=chunk, apply=apply)


def benefit_grants_issue_due(*, now: datetime | None = None,
                             run_key: str | None = None) -> dict[str, int]:
    """The daily beat job: this month's packs, this year's birthday-month gifts and the
    new-member gifts, each at most once per member and period."""
    now = resolve_now(now)
    return {period: benefit_grants_issue(grant_period=period, now=now, run_key=run_key)
            for period in (GrantPeriod.MONTHLY, GrantPeriod.BIRTHDAY_MONTH,
                           GrantPeriod.ON_JOINING)}


_EXPIRE_SQL = """
UPDATE tiers_benefitgrant SET status = 'expired', expired_at = %(now)s
WHERE id IN (SELECT id FROM tiers_benefitgrant
             WHERE status IN ('granted', 'claimed') AND expires_at <= %(now)s
             ORDER BY expires_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""


def benefit_grants_expire_due(*, now: datetime | None = None, chunk: int = 10_000,
                              run_key: str | None = None) -> int:
    """Expire every grant not used up by its expiry, in chunks; a grant being claimed or
    used at that moment is skipped and left for the next run (which the claim itself
    refuses once it is past its expiry)."""
    progress = batch_run("benefits.expire", run_key=run_key, now=resolve_now(now))
    return batch_in_chunks(progress, lambda: execute_limited(
        _EXPIRE_SQL, {"now": progress.now}, chunk=chunk), chunk=chunk)


# --- claiming and using -------------------------------------------------------------------------


def _fulfil_coupon_grant(grant: BenefitGrant, *, now: datetime) -> None:
    """Issue the coupons of a coupon-pack grant: `grant.quantity` coupons of the benefit's
    template ("2 free-shipping coupons a month"), each under its own source key, so a grant
    never yields more than its quantity. A refusal (template closed, uploaded codes used up)
    rolls the claim back with it and the grant stays claimable."""
    for unit in range(grant.quantity):
        coupon = coupon_issue(template_id=grant.benefit.coupon_template_id,
                              member_id=grant.member_id,
                              source_key=f"benefit-grant:{grant.pk}:{unit}", now=now)
        GrantCoupon.objects.create(grant=grant, coupon=coupon)


def _refuse_if_closed(grant: BenefitGrant, now: datetime) -> None:
    if grant.status == GrantStatus.EXPIRED or grant.expires_at <= now:
        raise TierError(TierErrorCode.GRANT_EXPIRED)


def benefit_grant_claim(*, member_id: int, grant_id: int,
                        now: datetime | None = None) -> BenefitGrant:
    """Claim (领取) a granted benefit, at most once and before it expires. Claiming a coupon
    pack issues its coupons in the same transaction."""
    now = resolve_now(now)
    with transaction.atomic():
        grant = lock_benefit_grant(member_id=member_id, grant_id=grant_id)
        _refuse_if_closed(grant, now)
        if grant.status != GrantStatus.GRANTED:
            raise TierError(TierErrorCode.GRANT_ALREADY_CLAIMED)
        if grant.benefit.kind in COUPON_KINDS:
            _fulfil_coupon_grant(grant, now=now)
        grant.status = GrantStatus.CLAIMED
        grant.claimed_at = now
        grant.save(update_fields=["status", "claimed_at"])
        return grant


@dataclass(frozen=True)
class GrantUse:
    use: BenefitUse
    grant: BenefitGrant
    created: bool


def benefit_grant_use(*, member_id: int, grant_id: int, units: int = 1,
                      source_key: str | None = None, now: datetime | None = None) -> GrantUse:
    """Use (核销) units of a claimed grant: 2 free-shipping vouchers a month are used one
    order at a time, never more than granted. A retry with the same source key answers the
    first use."""
    now = resolve_now(now)
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0 or units > MAX_UNITS:
        raise TierError(TierErrorCode.NON_POSITIVE_UNITS)
    with transaction.atomic():
        grant = lock_benefit_grant(member_id=member_id, grant_id=grant_id)
        if source_key and (first := BenefitUse.objects.filter(source_key=source_key).first()):
            if first.grant_id != grant.pk or first.units != units:
                raise TierError(TierErrorCode.USE_KEY_CONFLICT)
            return GrantUse(use=first, grant=grant, created=False)
        _refuse_if_closed(grant, now)
        if grant.status == GrantStatus.GRANTED:
            raise TierError(TierErrorCode.GRANT_NOT_CLAIMED)
        if units > grant.remaining:
            raise TierError(TierErrorCode.GRANT_USED_UP, remaining=grant.remaining)
        use = BenefitUse.objects.create(
            grant=grant, member_id=grant.member_id, tier_id=grant.tier_id,
            plan_id=grant.plan_id, units=units, unit_cost=grant.benefit.unit_cost,
            source_key=source_key or None, used_at=now)
        grant.used_quantity += units
        if grant.used_quantity == grant.quantity:
            grant.status = GrantStatus.USED
        grant.save(update_fields=["used_quantity", "status"])
        return GrantUse(use=use, grant=grant, created=True)


# --- what multipliers cost -----------------------------------------------------------------------


def benefit_record_multiplier_bonus(*, earned: EarnOutcome, member_id: int,
                                    applied: AppliedBenefit,
                                    now: datetime | None = None) -> MultiplierBonus | None:
    """Record the extra points a multiplier benefit added to a member's earning, for the
    cost per tier. The benefit applies last, to every point of the award: of 300 points at
    1.5× it gave 100. The rule engine splits each award into its parts and answers the
    benefit's (`EarnOutcome.benefit_points_for`), so a capped award counts only what the
    benefit really added."""
    now = resolve_now(now)
    movement = earned.movements.get(member_id)
    if applied.value <= ONE or movement is None or not movement.created:
        return None
    extra = earned.benefit_points_for(member_id)
    if extra <= 0:
        return None
    return MultiplierBonus.objects.create(
        entry=movement.entry, member_id=member_id, tier_id=applied.tier_id,
        plan_id=applied.plan_id, multiplier=applied.value, extra_points=extra, created_at=now)


def _entry_points(entry) -> int:
    """The points an entry earned (or, negative, took back), debt collected or left included."""
    return entry.available_delta + entry.pending_delta - entry.debt_delta


def benefit_reverse_multiplier_bonus(*, reversed: Movement | None, sale_id: int,
                                     now: datetime | None = None) -> MultiplierBonus | None:
    """A return takes back the multiplier's share of the points it reverses, so the cost
    per tier counts what members kept: returning half of a sale that earned 300 points at
    1.5× (100 of them extra) takes back 50 extra."""
    now = resolve_now(now)
    if reversed is None or not reversed.created:
        return None
    bonus = (MultiplierBonus.objects.select_related("entry")
             .filter(entry__order_id=sale_id, entry__kind="earn").first())
    if bonus is None:
        return None
    earned, taken = _entry_points(bonus.entry), -_entry_points(reversed.entry)
    if earned <= 0 or taken <= 0:
        return None
    extra = int((Decimal(bonus.extra_points) * min(taken, earned) / earned)
                .to_integral_value(rounding=ROUND_HALF_UP))
    if extra <= 0:
        return None
    return MultiplierBonus.objects.create(
        entry=reversed.entry, member_id=bonus.member_id, tier_id=bonus.tier_id,
        plan_id=bonus.plan_id, multiplier=bonus.multiplier, extra_points=-extra, created_at=now)
