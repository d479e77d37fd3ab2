"""Checking in: once a Beijing day, the streak, its rewards, make-up check-ins.

Every path that checks a member in — the check-in endpoint and a `checkin` event, both
through the intake — ends here, under the member's points-account lock (points.locks, the
lock every spender takes first), so one member's check-ins queue and the day's row is
written once (UNIQUE member + day backs it). A new day's check-in pays the streak rewards
through the earning rules of kind "check-in streak reached" (`rules_earn`: caps, budgets
and explanations apply), keyed by the check-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction

from core.clock import local_date, resolve_now
from members.errors import MemberError, MemberErrorCode
from members.models import Member
from points.locks import lock_accounts
from points.models import RuleEvent
from points.services.ledger import points_spend
from points.services.rules import EarnOutcome, EarnRequest, rules_earn
from tiers.selectors.benefits import member_points_multiplier

from ..errors import CheckinError, CheckinErrorCode
from ..models import CheckIn, CheckinKind, CheckinSettings

LOOKBACK = 400


@dataclass(frozen=True)
class CheckinOutcome:
    checkin: CheckIn
    created: bool
    earned: EarnOutcome | None = None


def run_before(member_id: int, day: date) -> int:
    """How many consecutive days the member checked in up to the day before `day`."""
    rows = list(CheckIn.objects.filter(member_id=member_id, day__lt=day)
                .order_by("-day").values_list("day", "streak")[:LOOKBACK])
    run, expected = 0, day - timedelta(days=1)
    for got, streak in rows:
        if got != expected:
            return run
        run += 1
        expected -= timedelta(days=1)
    if rows and run == LOOKBACK:  # a very long streak: the oldest row read knows the rest
        run += rows[-1][1] - 1
    return run


def cycle_day(streak: int, cycle: int | None) -> int:
    return (streak - 1) % cycle + 1 if cycle else streak


def checkin_record(*, member_id: int, at: datetime, activity_id: int | None = None,
                   now: datetime | None = None) -> CheckinOutcome:
    """Check the member in for the Beijing day of `at`. The day's first check-in is written
    with its streak and pays the streak rewards; later ones answer it (created False)."""
    now = resolve_now(now)
    day = local_date(at)
    settings = CheckinSettings.current()
    with transaction.atomic():
        if not Member.objects.filter(pk=member_id).exists():
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        lock_accounts([member_id], now=now)
        if (done := CheckIn.objects.filter(member_id=member_id, day=day).first()) is not None:
            return CheckinOutcome(checkin=done, created=False)
        streak = run_before(member_id, day) + 1
        row = CheckIn.objects.create(
            member_id=member_id, day=day, kind=CheckinKind.DAILY, streak=streak,
            cycle_day=cycle_day(streak, settings.streak_cycle_days), activity_id=activity_id,
            created_at=now)
        earned = rules_earn(EarnRequest(
            event=RuleEvent.CHECKIN_STREAK, member_id=member_id, occurred_at=at,
            streak_day=row.cycle_day,
            tier_multiplier=member_points_multiplier(member_id=member_id, now=now).value,
        ), source_key=f"checkin:{row.pk}", now=now, pending_days=0)
        return CheckinOutcome(checkin=row, created=True, earned=earned)


def checkin_makeup(*, member_id: int, day: date, now: datetime | None = None) -> CheckinOutcome:
    """A make-up check-in (补签) of a missed day earlier in the current Beijing month, for
    the configured points, at most N a month. It fills the day (later check-ins count the
    streak through it) but pays no streak reward. The same day again answers the first."""
    now = resolve_now(now)
    today = local_date(now)
    settings = CheckinSettings.current()
    if not (day < today and (day.year, day.month) == (today.year, today.month)):
        raise CheckinError(CheckinErrorCode.MAKEUP_NOT_ALLOWED)
    with transaction.atomic():
        if not Member.objects.filter(pk=member_id).exists():
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        lock_accounts([member_id], now=now)
        if (done := CheckIn.objects.filter(member_id=member_id, day=day).first()) is not None:
            if done.kind == CheckinKind.MAKEUP:
                return CheckinOutcome(checkin=done, created=False)
            raise CheckinError(CheckinErrorCode.ALREADY_CHECKED_IN, day=day.isoformat())
        used = CheckIn.objects.filter(member_id=member_id, kind=CheckinKind.MAKEUP,
                                      day__gte=today.replace(day=1), day__lte=today).count()
        if used >= settings.makeup_per_month:
            raise CheckinError(CheckinErrorCode.MAKEUP_LIMIT_REACHED,
                               limit=settings.makeup_per_month)
        cost = settings.makeup_cost_points
        if cost:
            points_spend(member_id=member_id, points=cost,
                         source_key=f"checkin-makeup:{member_id}:{day.isoformat()}",
                         reason=f"make-up check-in {day.isoformat()}", now=now)
        streak = run_before(member_id, day) + 1
        row = CheckIn.objects.create(
            member_id=member_id, day=day, kind=CheckinKind.MAKEUP, streak=streak,
            cycle_day=cycle_day(streak, settings.streak_cycle_days), cost_points=cost,
            created_at=now)
        return CheckinOutcome(checkin=row, created=True)
