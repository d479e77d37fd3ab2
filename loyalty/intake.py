"""The intake: the one place where a sale, a return, a registration or a behaviour event
enters the programme and fans out to the elements, in one transaction, step by step.

Each function reads top to bottom in the order the steps run. Orders enter only through
here (API, counter page, imports); the admin shows them read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from core.clock import resolve_now
from members.models import Member, MemberActivity, Order
from members.services import (
    ActivityInput, MemberInput, ReturnInput, SaleInput, activity_record, member_register,
    order_record_return, order_record_sale,
)
from members.models import ActivityKind
from points.services import Movement, points_earn_for_sale, points_reverse_for_return


@dataclass(frozen=True)
class SaleOutcome:
    order: Order
    created: bool
    points: Movement | None = None


@dataclass(frozen=True)
class ReturnOutcome:
    order: Order
    created: bool
    points: Movement | None = None


@dataclass(frozen=True)
class ActivityOutcome:
    activity: MemberActivity
    created: bool


@dataclass(frozen=True)
class RegistrationOutcome:
    member: Member


def register_member(*, data: MemberInput, now: datetime | None = None) -> RegistrationOutcome:
    now = resolve_now(now)
    with transaction.atomic():
        member = member_register(data=data, now=now)                      # members
        activity_record(data=ActivityInput(                               # members: the log
            member_id=member.pk, kind=ActivityKind.REGISTRATION,
            source_key=f"registration:{member.pk}", occurred_at=now), now=now)
    return RegistrationOutcome(member=member)


def record_sale(*, sale: SaleInput, now: datetime | None = None) -> SaleOutcome:
    now = resolve_now(now)
    with transaction.atomic():
        stored = order_record_sale(sale=sale, now=now)                    # members
        if not stored.created:
            return SaleOutcome(order=stored.order, created=False,         # replay: no fan-out
                               points=_points_of(stored.order, "earn"))
        points = points_earn_for_sale(order=stored.order, now=now)        # points
    return SaleOutcome(order=stored.order, created=True, points=points)


def record_return(*, ret: ReturnInput, now: datetime | None = None) -> ReturnOutcome:
    now = resolve_now(now)
    with transaction.atomic():
        stored = order_record_return(ret=ret, now=now)                    # members
        if not stored.created:
            return ReturnOutcome(order=stored.order, created=False,
                                 points=_points_of(stored.order, "reverse"))
        points = points_reverse_for_return(ret=stored.order, now=now)     # points
    return ReturnOutcome(order=stored.order, created=True, points=points)


def record_activity(*, data: ActivityInput, now: datetime | None = None) -> ActivityOutcome:
    now = resolve_now(now)
    with transaction.atomic():
        stored = activity_record(data=data, now=now)                      # members
        if not stored.created:
            return ActivityOutcome(activity=stored.activity, created=False)
    return ActivityOutcome(activity=stored.activity, created=True)


def _points_of(order: Order, kind: str) -> Movement | None:
    """What a replayed order earned or reversed the first time."""
    from points.selectors import entry_for_order

    entry = entry_for_order(order_id=order.pk, kind=kind)
    return Movement(entry=entry, created=False) if entry else None
