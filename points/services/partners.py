"""Partner exchange: points in from a partner programme (an earning) and out to it (a spend),
at the partner's rates, within daily limits on the Beijing calendar, once per partner
transaction id.

An airline credits 1 of our points per 2 miles (rate in 0.5): a member exchanging 1,001 miles
in receives 500 points. Out at rate 2, 300 of our points become 600 miles. Limits count our
points. Per-member limits are checked under the member's account lock and the partner-wide
limit under the lock of the day's total row — taken in that order by every exchange — so
concurrent exchanges never exceed either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.db import connection, transaction
from django.db.models import Sum

from core.clock import local_date, resolve_now

from ..errors import PartnerErrorCode, PointsError, PointsErrorCode
from ..locks import lock_accounts
from ..models.partners import (
    ExchangeDirection,
    PartnerDailyTotal,
    PartnerExchange,
    PartnerProgramme,
)
from .ledger import points_earn, points_spend
from .posting import check_amount, posting_member


@dataclass(frozen=True)
class ExchangeOutcome:
    exchange: PartnerExchange
    created: bool


def _partner(code: str) -> PartnerProgramme:
    partner = PartnerProgramme.objects.filter(code=code).first()
    if partner is None:
        raise PointsError(PartnerErrorCode.PARTNER_NOT_FOUND)
    if not partner.is_active:
        raise PointsError(PartnerErrorCode.PARTNER_INACTIVE)
    return partner


def _convert(amount: int, rate: Decimal) -> int:
    return int((Decimal(amount) * rate).to_integral_value(rounding=ROUND_FLOOR))


def _replay(partner: PartnerProgramme, direction: str, external_id: str, *, member_id: int,
            partner_points: int | None = None, points: int | None = None) -> ExchangeOutcome | None:
    done = PartnerExchange.objects.filter(partner=partner, direction=direction,
                                          external_id=external_id).first()
    if done is None:
        return None
    if done.member_id != member_id or (partner_points is not None
                                       and done.partner_points != partner_points) or (
            points is not None and done.points != points):
        raise PointsError(PartnerErrorCode.EXCHANGE_CONFLICT)
    return ExchangeOutcome(exchange=done, created=False)


def _check_limits(partner: PartnerProgramme, direction: str, member_id: int, points: int,
                  day) -> None:
    """Refuse what would take the member or the partner past today's limit. Runs under the
    member's account lock; locks the day's partner total last."""
    member_limit = (partner.member_daily_limit_in if direction == ExchangeDirection.IN
                    else partner.member_daily_limit_out)
    if member_limit is not None:
        used = (PartnerExchange.objects.filter(partner=partner, member_id=member_id,
                                               direction=direction, local_date=day)
                .aggregate(s=Sum("points"))["s"] or 0)
        if used + points > member_limit:
            raise PointsError(PartnerErrorCode.MEMBER_DAILY_LIMIT,
                              remaining=max(member_limit - used, 0))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO points_partnerdailytotal (partner_id, direction, local_date, points)
            VALUES (%s, %s, %s, 0) ON CONFLICT (partner_id, direction, local_date) DO NOTHING
            """, [partner.pk, direction, day])
    total = PartnerDailyTotal.objects.select_for_update().get(partner=partner,
                                                              direction=direction,
                                                              local_date=day)
    limit = partner.daily_limit_in if direction == ExchangeDirection.IN else partner.daily_limit_out
    if limit is not None and total.points + points > limit:
        raise PointsError(PartnerErrorCode.PARTNER_DAILY_LIMIT,
                          remaining=max(limit - total.points, 0))
    total.points += points
    total.save(update_fields=["points"])


def partner_exchange_in(*, partner_code: str, member_id: int, partner_points: int,
                        external_id: str, now: datetime | None = None) -> ExchangeOutcome:
    """Credit our points for partner points: an earning under the source key
    `partner:<code>:in:<external id>`, available at once. The same partner transaction
    again answers the first exchange."""
    now = resolve_now(now)
    check_amount(partner_points)
    partner = _partner(partner_code)
    points = _convert(partner_points, partner.rate_in)
    with transaction.atomic():
        member = posting_member(member_id)
        lock_accounts([member_id], now=now)
        replay = _replay(partner, ExchangeDirection.IN, external_id, member_id=member_id,
                         partner_points=partner_points)
        if replay is not None:
            return replay
        if points <= 0:
            raise PointsError(PartnerErrorCode.EXCHANGE_TOO_SMALL)
        check_amount(points)
        if not member.can_earn_or_spend:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        day = local_date(now)
        _check_limits(partner, ExchangeDirection.IN, member_id, points, day)
        movement = points_earn(member_id=member_id, points=points, now=now, pending_days=0,
                               source_key=f"partner:{partner.code}:in:{external_id}"[:160],
                               reason=f"partner {partner.code}")
        exchange = PartnerExchange.objects.create(
            partner=partner, member_id=member_id, direction=ExchangeDirection.IN,
            external_id=external_id, partner_points=partner_points, points=points,
            local_date=day, entry=movement.entry, created_at=now)
        return ExchangeOutcome(exchange=exchange, created=True)


def partner_exchange_out(*, partner_code: str, member_id: int, points: int, external_id: str,
                         now: datetime | None = None) -> ExchangeOutcome:
    """Spend our points for partner points (soonest-expiring first), under the source key
    `partner:<code>:out:<external id>`."""
    now = resolve_now(now)
    check_amount(points)
    partner = _partner(partner_code)
    partner_points = _convert(points, partner.rate_out)
    with transaction.atomic():
        posting_member(member_id)
        lock_accounts([member_id], now=now)
        replay = _replay(partner, ExchangeDirection.OUT, external_id, member_id=member_id,
                         points=points)
        if replay is not None:
            return replay
        if partner_points <= 0:
            raise PointsError(PartnerErrorCode.EXCHANGE_TOO_SMALL)
        day = local_date(now)
        _check_limits(partner, ExchangeDirection.OUT, member_id, points, day)
        movement = points_spend(member_id=member_id, points=points, now=now,
                                source_key=f"partner:{partner.code}:out:{external_id}"[:160],
                                reason=f"partner {partner.code}")
        exchange = PartnerExchange.objects.create(
            partner=partner, member_id=member_id, direction=ExchangeDirection.OUT,
            external_id=external_id, partner_points=partner_points, points=points,
            local_date=day, entry=movement.entry, created_at=now)
        return ExchangeOutcome(exchange=exchange, created=True)
