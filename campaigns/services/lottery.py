"""Opening and closing a lottery, giving entries, drawing.

A draw, in one transaction: the member's points account is locked first (points.locks —
the same order as every other spender), so one member's draws queue and the per-member
limits are counted without a race; then the cost is taken (points spent, or one entry by a
conditional UPDATE), the value computed, and the prize's stock taken by a conditional
UPDATE whose row lock queues the other members' draws on the same prize: stock never goes
below zero and the last units go to exactly as many draws. A prize out of stock falls back
to its configured fallback (itself possibly out of stock, and so on), else to nothing.
The same draw id returns the first draw.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core.clock import local_date, resolve_now
from members.errors import MemberError, MemberErrorCode
from members.models import Member
from points.errors import PointsError, PointsErrorCode
from points.locks import lock_accounts
from points.services.coupons import coupon_issue
from points.services.ledger import points_earn, points_spend

from ..errors import LotteryError, LotteryErrorCode
from ..models import (
    Lottery,
    LotteryCost,
    LotteryDraw,
    LotteryEntries,
    LotteryPrize,
    LotteryStatus,
    PrizeKind,
)
from ..selectors.lottery import (
    commitment_for,
    draw_value,
    member_draw_counts,
    odds_table,
    pick_prize,
)

MAX_FALLBACKS = 20


def new_seed() -> str:
    """A fresh 256-bit server seed, hexadecimal."""
    return secrets.token_hex(32)


def lottery_create(*, lottery: Lottery, now: datetime | None = None) -> Lottery:
    """Save a new draft lottery with its own seed."""
    lottery.created_at = resolve_now(now)
    lottery.seed = new_seed()
    lottery.status = LotteryStatus.DRAFT
    lottery.save()
    return lottery


def _locked(lottery_id: int) -> Lottery:
    lottery = Lottery.objects.select_for_update().filter(pk=lottery_id).first()
    if lottery is None:
        raise LotteryError(LotteryErrorCode.LOTTERY_NOT_FOUND)
    return lottery


def lottery_open(*, lottery_id: int, now: datetime | None = None) -> Lottery:
    """Freeze the odds table and publish the commitment SHA-256(seed + odds table); the
    lottery takes draws from now (within its window)."""
    now = resolve_now(now)
    with transaction.atomic():
        lottery = _locked(lottery_id)
        if lottery.status != LotteryStatus.DRAFT:
            raise LotteryError(LotteryErrorCode.LOTTERY_BAD_TRANSITION,
                               status=lottery.get_status_display(), action=_("opened"))
        prizes = list(LotteryPrize.objects.filter(lottery=lottery))
        if not prizes:
            raise LotteryError(LotteryErrorCode.LOTTERY_INVALID, reason=_("it has no prizes"))
        ids = {p.pk for p in prizes}
        for prize in prizes:
            if prize.fallback_id is not None and prize.fallback_id not in ids:
                raise LotteryError(LotteryErrorCode.LOTTERY_INVALID,
                                   reason=_("the fallback of “%(prize)s” is another "
                                            "lottery's prize") % {"prize": prize.name})
        if lottery.cost_kind == LotteryCost.POINTS and not lottery.cost_points:
            raise LotteryError(LotteryErrorCode.LOTTERY_INVALID,
                               reason=_("a points lottery needs a cost"))
        if not lottery.seed:
            lottery.seed = new_seed()
        lottery.odds = odds_table(prizes, lottery.odds_version)
        lottery.commitment = commitment_for(lottery.seed, lottery.odds)
        lottery.status = LotteryStatus.OPEN
        lottery.opened_at = now
        lottery.save(update_fields=["seed", "odds", "commitment", "status", "opened_at"])
        return lottery


def lottery_close(*, lottery_id: int, now: datetime | None = None) -> Lottery:
    """Stop the draws; the seed is published from now on."""
    now = resolve_now(now)
    with transaction.atomic():
        lottery = _locked(lottery_id)
        if lottery.status != LotteryStatus.OPEN:
            raise LotteryError(LotteryErrorCode.LOTTERY_BAD_TRANSITION,
                               status=lottery.get_status_display(), action=_("closed"))
        lottery.status = LotteryStatus.CLOSED
        lottery.closed_at = now
        lottery.save(update_fields=["status", "closed_at"])
        return lottery


def lottery_entries_grant(*, lottery_id: int, member_id: int, quantity: int, source_key: str,
                          now: datetime | None = None) -> bool:
    """Give a member entries for a lottery, once per source key (a campaign occasion, a task
    period). True when given now, False when the key had given them already."""
    now = resolve_now(now)
    if quantity < 1:
        raise LotteryError(LotteryErrorCode.LOTTERY_INVALID, reason=_("entries must be positive"))
    with transaction.atomic():
        if not Lottery.objects.filter(pk=lottery_id).exists():
            raise LotteryError(LotteryErrorCode.LOTTERY_NOT_FOUND)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO campaigns_lotteryentrygrant "
                "(lottery_id, member_id, quantity, source_key, created_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (source_key) DO NOTHING RETURNING id",
                [lottery_id, member_id, quantity, source_key[:160], now])
            if cursor.fetchone() is None:
                return False
        row, _new = LotteryEntries.objects.get_or_create(lottery_id=lottery_id,
                                                         member_id=member_id)
        LotteryEntries.objects.filter(pk=row.pk).update(entries=F("entries") + quantity,
                                                        granted=F("granted") + quantity)
        return True


def check_draw_id(draw_id: str) -> None:
    if not (0 < len(draw_id) <= 100 and all("!" <= ch <= "~" for ch in draw_id)):
        raise LotteryError(LotteryErrorCode.INVALID_DRAW_ID)


def _take(prize_id: int) -> bool:
    """Take one unit of a prize: unlimited, or a conditional UPDATE that never goes below 0."""
    if LotteryPrize.objects.filter(pk=prize_id, stock__isnull=True).exists():
        return True
    return bool(LotteryPrize.objects.filter(pk=prize_id, stock__gte=1)
                .update(stock=F("stock") - 1))


def lottery_draw(*, lottery_id: int, member_id: int, draw_id: str,
                 now: datetime | None = None) -> LotteryDraw:
    """Draw once for a member. Refused (nothing written) when the lottery is not open or
    outside its window, a limit is reached, the member cannot pay or is frozen. The same
    draw id returns the first draw; used for another member or lottery it is refused."""
    now = resolve_now(now)
    check_draw_id(draw_id)
    with transaction.atomic():
        lottery = Lottery.objects.filter(pk=lottery_id).first()
        if lottery is None:
            raise LotteryError(LotteryErrorCode.LOTTERY_NOT_FOUND)
        member = Member.objects.filter(pk=member_id).first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        lock_accounts([member_id], now=now)
        if (done := LotteryDraw.objects.filter(draw_id=draw_id).first()) is not None:
            if (done.lottery_id, done.member_id) != (lottery_id, member_id):
                raise LotteryError(LotteryErrorCode.DRAW_ID_CONFLICT)
            return done
        if (lottery.status != LotteryStatus.OPEN
                or (lottery.starts_at and now < lottery.starts_at)
                or (lottery.ends_at and now >= lottery.ends_at)):
            raise LotteryError(LotteryErrorCode.LOTTERY_NOT_OPEN)
        if not member.can_earn_or_spend:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        day = local_date(now)
        today, total = member_draw_counts(lottery_id=lottery_id, member_id=member_id, day=day)
        if lottery.daily_limit is not None and today >= lottery.daily_limit:
            raise LotteryError(LotteryErrorCode.DAILY_LIMIT_REACHED, limit=lottery.daily_limit)
        if lottery.member_limit is not None and total >= lottery.member_limit:
            raise LotteryError(LotteryErrorCode.MEMBER_LIMIT_REACHED, limit=lottery.member_limit)
        cost_points = cost_entries = 0
        if lottery.cost_kind == LotteryCost.POINTS:
            points_spend(member_id=member_id, points=lottery.cost_points,
                         source_key=f"lottery:{draw_id}:cost",
                         reason=f"lottery {lottery.pk}: {lottery.name}"[:200], now=now)
            cost_points = lottery.cost_points
        elif lottery.cost_kind == LotteryCost.ENTRIES:
            if not LotteryEntries.objects.filter(lottery_id=lottery_id, member_id=member_id,
                                                 entries__gte=1).update(entries=F("entries") - 1):
                raise LotteryError(LotteryErrorCode.NO_ENTRIES)
            cost_entries = 1
        value = draw_value(lottery.seed, draw_id)
        drawn_id = pick_prize(value, lottery.odds)
        fallbacks = {row["id"]: row["fallback"] for row in lottery.odds["prizes"]}
        given_id: int | None = drawn_id
        for _hop in range(MAX_FALLBACKS):
            if given_id is None or _take(given_id):
                break
            given_id = fallbacks.get(given_id)
        else:
            given_id = None
        prize = LotteryPrize.objects.filter(pk=given_id).first() if given_id else None
        points_entry_id = coupon_id = None
        if prize is not None and prize.kind == PrizeKind.POINTS:
            movement = points_earn(member_id=member_id, points=prize.points,
                                   source_key=f"lottery:{draw_id}",
                                   reason=f"lottery {lottery.pk}: {prize.name}"[:200], now=now,
                                   pending_days=0)  # a prize has no return window
            points_entry_id = movement.entry.pk if movement else None
        elif prize is not None and prize.kind == PrizeKind.COUPON:
            coupon_id = coupon_issue(template_id=prize.coupon_template_id, member_id=member_id,
                                     source_key=f"lottery:{draw_id}", now=now).pk
        return LotteryDraw.objects.create(
            lottery=lottery, member_id=member_id, draw_id=draw_id, value=value,
            odds_version=lottery.odds["version"], drawn_prize_id=drawn_id, prize=prize,
            cost_points=cost_points, cost_entries=cost_entries,
            points_entry_id=points_entry_id, coupon_id=coupon_id, day=day, created_at=now)
