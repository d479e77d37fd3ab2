"""The intake: the one place where a sale, a return, a registration or a behaviour event
enters the programme and fans out to the elements, in one transaction, step by step.

Each function reads top to bottom in the order the steps run. Orders enter only through
here (API, counter page, imports); the admin shows them read-only. A replayed order or
event answers what the first one did and fans out nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from campaigns.models import CheckIn
from campaigns.services.checkin import CheckinOutcome, checkin_record
from campaigns.services.tasks import tasks_evaluate
from core.clock import local_date, resolve_now
from members.errors import MemberError, MemberErrorCode
from members.models import ActivityKind, Member, MemberActivity, Order, Store
from members.selectors.orders import sale_fully_returned
from members.services.activity import ActivityInput, activity_record
from members.services.members import MemberInput, member_register, referrer_check
from members.services.orders import ReturnInput, SaleInput, order_record_return, order_record_sale
from members.services.stats import stats_apply_return, stats_apply_sale
from members.services.tag_rules import tag_rules_refresh_member
from points.models import Coupon, CouponEvent, OrderTender, PointsPayment
from points.selectors.ledger import entry_for_order
from points.selectors.rules import awards_for_source
from points.services.coupons import coupons_restore_for_order
from points.services.ledger import Movement, points_reverse_for_return
from points.services.payments import PaymentRef, points_payment_link, points_return_payment
from points.services.rules import BasketLine, EarnOutcome, EarnRequest, RuleResult, rules_earn
from points.services.tenders import (
    TenderInput,
    tenders_check,
    tenders_give_back,
    tenders_identity,
    tenders_pay,
)
from tiers.selectors.benefits import AppliedBenefit, member_points_multiplier
from tiers.services.benefits import (
    benefit_record_multiplier_bonus,
    benefit_reverse_multiplier_bonus,
)
from tiers.services.growth import growth_for_event, growth_for_sale, growth_reverse_for_return

ONE = Decimal(1)


class Notice:
    """What an answer warns about without refusing: stable codes, words for people."""

    POINTS_CASH_NOT_LINKED = "points_cash_not_linked"

    TEXT = {
        POINTS_CASH_NOT_LINKED: _("The points used as cash on this sale name no points "
                                  "payment: a return gives no points back."),
    }


@dataclass(frozen=True)
class SaleOutcome:
    order: Order
    created: bool
    points: Movement | None = None
    rules: list[RuleResult] = field(default_factory=list)
    payment: PointsPayment | None = None
    notices: tuple[str, ...] = ()
    tenders: tuple[OrderTender, ...] = ()


@dataclass(frozen=True)
class ReturnOutcome:
    order: Order
    created: bool
    points: Movement | None = None
    points_cash: Movement | None = None    # the points used as cash, given back
    coupons_restored: tuple[Coupon, ...] = ()
    coupons_not_restored: tuple[tuple[Coupon, str], ...] = ()  # (coupon, reason)
    notices: tuple[str, ...] = ()
    tenders: tuple[OrderTender, ...] = ()  # what each tender of the sale got back


@dataclass(frozen=True)
class ActivityOutcome:
    activity: MemberActivity | None  # None: `check_in` answering a day checked in earlier
    created: bool
    earned: EarnOutcome | None = None
    checkin: CheckinOutcome | None = None  # a `checkin` event: the day's check-in


@dataclass(frozen=True)
class RegistrationOutcome:
    member: Member
    earned: EarnOutcome | None = None


def better_of_tier_and_plan_multiplier(member_id: int, now: datetime) -> AppliedBenefit:
    """The points multiplier the member's benefits give: the better of their tier's and
    their active paid plan's (tiers.selectors.member_points_multiplier); 1 without one."""
    return member_points_multiplier(member_id=member_id, now=now)


def register_member(*, data: MemberInput, now: datetime | None = None) -> RegistrationOutcome:
    now = resolve_now(now)
    with transaction.atomic():
        member = member_register(data=data, now=now)                      # members
        logged = activity_record(data=ActivityInput(                      # members: the log
            member_id=member.pk, kind=ActivityKind.REGISTRATION,
            source_key=f"registration:{member.pk}", occurred_at=now), now=now)
        earned = _earn_for_activity(logged.activity, now=now)             # points: rules
        growth_for_event(activity=logged.activity, now=now)               # tiers: growth
        tag_rules_refresh_member(member_id=member.pk, now=now)            # members: rule tags
    return RegistrationOutcome(member=member, earned=earned)


def _sale_notices(sale: Order, payment: PointsPayment | None) -> tuple[str, ...]:
    if sale.points_cash > 0 and payment is None:
        return (Notice.POINTS_CASH_NOT_LINKED,)
    return ()


def _tenders_of(order: Order) -> tuple[OrderTender, ...]:
    return tuple(OrderTender.objects.filter(order=order).order_by("id"))


def record_sale(*, sale: SaleInput, payment: PaymentRef | None = None,
                tenders: tuple[TenderInput, ...] = (), owner_id: int | None = None,
                now: datetime | None = None) -> SaleOutcome:
    """A sale: stored, its points payment linked (when it names one), its tenders paid
    (stored value and gift cards taken), earned through the rules — on the net amount,
    stored value and gift cards included, like cash —, then growth, statistics and rule
    tags. A sale that used points as cash and names no payment is recorded, with a notice
    that its return will give no points back."""
    now = resolve_now(now)
    if payment is not None:
        sale = replace(sale, payment_ref=payment.describe())
    if tenders:
        tenders = tenders_check(tuple(tenders))
        sale = replace(sale, tenders_ref=tenders_identity(tenders))
    with transaction.atomic():
        stored = order_record_sale(sale=sale, now=now)                    # members
        order = stored.order
        if not stored.created:
            entry = entry_for_order(order_id=order.pk, kind="earn")       # replay: no fan-out
            paid = PointsPayment.objects.filter(order=order).first()
            return SaleOutcome(order=order, created=False,
                               points=Movement(entry=entry, created=False) if entry else None,
                               payment=paid, notices=_sale_notices(order, paid),
                               tenders=_tenders_of(order))
        paid = (points_payment_link(order=order, ref=payment, owner_id=owner_id,  # points
                                    now=now) if payment is not None else None)
        taken = tenders_pay(order=order, tenders=tenders, payment=paid, now=now)  # tenders
        multiplier = better_of_tier_and_plan_multiplier(order.member_id, now)                # tiers: benefits
        earned = rules_earn(EarnRequest(                                  # points: rules
            event="sale", member_id=order.member_id, occurred_at=order.ordered_at,
            store_code=order.store.code, order_id=order.pk,
            lines=tuple(BasketLine(line_no=line.line_no, sku=line.sku, category=line.category,
                                   net_amount=line.net_amount, order_line_id=line.pk)
                        for line in order.lines.all()),
            tier_multiplier=multiplier.value,
        ), source_key=f"sale:{order.pk}", now=now)
        benefit_record_multiplier_bonus(earned=earned, member_id=order.member_id,  # tiers
                                        applied=multiplier, now=now)
        growth_for_sale(order=order, now=now)                             # tiers: growth
        stats_apply_sale(order=order, now=now)                            # members: statistics
        tag_rules_refresh_member(member_id=order.member_id, now=now)      # members: rule tags
        tasks_evaluate(member_id=order.member_id, now=now)                # campaigns: tasks
    return SaleOutcome(order=order, created=True,
                       points=earned.movements.get(order.member_id), rules=earned.results,
                       payment=paid, notices=_sale_notices(order, paid),
                       tenders=tuple(taken))


def record_return(*, ret: ReturnInput, now: datetime | None = None) -> ReturnOutcome:
    """A return: stored against its sale; the points the sale paid as cash given back to
    their lots (first, so taking back the earning can use them); the money given back to
    the sale's tenders in proportion (stored value, gift cards, cash); the earning reversed for
    the returned lines; on a full return the sale's coupons restored; then growth,
    statistics and rule tags."""
    now = resolve_now(now)
    with transaction.atomic():
        stored = order_record_return(ret=ret, now=now)                    # members
        order = stored.order
        sale = order.original_order
        paid = PointsPayment.objects.filter(order_id=sale.pk).first()
        notices = _sale_notices(sale, paid)
        if not stored.created:
            return _replayed_return(order, notices)
        points_cash = points_return_payment(ret=order, now=now)           # points: payment
        given_back = tenders_give_back(ret=order, now=now)                # points: tenders
        points = points_reverse_for_return(ret=order, now=now)            # points: earning
        benefit_reverse_multiplier_bonus(reversed=points, now=now,        # tiers: benefit cost
                                         sale_id=sale.pk)
        coupons = None
        if sale_fully_returned(sale.pk):                                  # points: coupons
            coupons = coupons_restore_for_order(member_id=sale.member_id,
                                                order_no=sale.order_no,
                                                return_no=order.order_no, now=now)
        growth_reverse_for_return(ret=order, now=now)                     # tiers: growth
        stats_apply_return(order=order, now=now)                          # members: statistics
        tag_rules_refresh_member(member_id=order.member_id, now=now)      # members: rule tags
    return ReturnOutcome(
        order=order, created=True, points=points, points_cash=points_cash,
        coupons_restored=tuple(coupons.restored) if coupons else (),
        coupons_not_restored=tuple(coupons.not_restored) if coupons else (),
        notices=notices, tenders=tuple(given_back))


def _replayed_return(order: Order, notices: tuple[str, ...]) -> ReturnOutcome:
    """What a return did the first time, read back: its reversal, the points given back,
    and the coupons it restored (or could not)."""
    reversal = entry_for_order(order_id=order.pk, kind="reverse")
    refund = entry_for_order(order_id=order.pk, kind="refund")
    sale = order.original_order
    restored = tuple(Coupon.objects.filter(
        pk__in=CouponEvent.objects.filter(member_id=order.member_id, order_no=order.order_no,
                                          kind=CouponEvent.Kind.RESTORED)
        .values("coupon_id")).order_by("id"))
    kept = ()
    if sale_fully_returned(sale.pk):
        kept = tuple((coupon, "expired") for coupon in Coupon.objects.filter(
            member_id=sale.member_id, order_no=sale.order_no,
            state=Coupon.State.REDEEMED).order_by("id"))
    return ReturnOutcome(
        order=order, created=False,
        points=Movement(entry=reversal, created=False) if reversal else None,
        points_cash=Movement(entry=refund, created=False) if refund else None,
        coupons_restored=restored, coupons_not_restored=kept, notices=notices,
        tenders=_tenders_of(order))


def event_time(*, source_key: str, occurred_at: datetime | None,
               now: datetime | None = None) -> datetime:
    """When an event happened: the time it was sent with; sent without one, the time it was
    first recorded with (a retry of such an event is the same event, not a conflict), or
    now for a new event."""
    if occurred_at is not None:
        return occurred_at
    recorded = (MemberActivity.objects.filter(source_key=source_key)
                .values_list("occurred_at", flat=True).first())
    return recorded or resolve_now(now)


def record_activity(*, data: ActivityInput, now: datetime | None = None) -> ActivityOutcome:
    now = resolve_now(now)
    _check_references(data)
    with transaction.atomic():
        stored = activity_record(data=data, now=now)                      # members: the log
        if not stored.created:
            return ActivityOutcome(activity=stored.activity, created=False,
                                   earned=_replayed(stored.activity))
        earned = _earn_for_activity(stored.activity, now=now)             # points: rules
        checkin = None
        if stored.activity.kind == ActivityKind.CHECKIN:                  # campaigns: the day
            checkin = checkin_record(member_id=stored.activity.member_id,
                                     at=stored.activity.occurred_at,
                                     activity_id=stored.activity.pk, now=now)
        growth_for_event(activity=stored.activity, now=now)               # tiers: growth
        tag_rules_refresh_member(member_id=stored.activity.member_id, now=now)  # rule tags
        tasks_evaluate(member_id=stored.activity.member_id, now=now)      # campaigns: tasks
    return ActivityOutcome(activity=stored.activity, created=True, earned=earned,
                           checkin=checkin)


def check_in(*, member_id: int, now: datetime | None = None) -> ActivityOutcome:
    """The check-in endpoint's path: a `checkin` event for the member's Beijing day, through
    `record_activity` like any other (the daily rule, growth, the streak). The day's event
    id is fixed (`checkin:<member>:<day>`), so the day counts once; a day already checked
    in by another event answers that check-in (created False) and records nothing."""
    now = resolve_now(now)
    day = local_date(now)
    done = CheckIn.objects.filter(member_id=member_id, day=day).first()
    if done is not None:
        activity = (MemberActivity.objects.filter(pk=done.activity_id).first()
                    if done.activity_id else None)
        return ActivityOutcome(activity=activity, created=False,
                               checkin=CheckinOutcome(checkin=done, created=False))
    outcome = record_activity(data=ActivityInput(
        member_id=member_id, kind=ActivityKind.CHECKIN,
        source_key=f"checkin:{member_id}:{day.isoformat()}", occurred_at=now), now=now)
    if outcome.checkin is None:  # a racing request recorded the day's event first
        row = CheckIn.objects.get(member_id=member_id, day=day)
        outcome = replace(outcome, checkin=CheckinOutcome(checkin=row, created=False))
    return outcome


def _check_references(data: ActivityInput) -> None:
    """An event may name a store and a referrer; both must exist (the referrer rule:
    members.services.members.referrer_check)."""
    if not isinstance(data.payload, dict):
        return  # the activity service refuses it with its own error
    if data.payload.get("referrer") is not None:
        referrer_check(member_id=data.member_id, referrer_id=data.payload["referrer"])
    store = data.payload.get("store")
    if store is not None and (not isinstance(store, str)
                              or not Store.objects.filter(code=store).exists()):
        raise MemberError(MemberErrorCode.STORE_NOT_FOUND, store=store)


def _earn_for_activity(activity: MemberActivity, *, now: datetime) -> EarnOutcome:
    referrer = activity.payload.get("referrer") if activity.kind == ActivityKind.REFERRAL_CONVERTED else None
    referrer = referrer if isinstance(referrer, int) else None
    multiplier = better_of_tier_and_plan_multiplier(activity.member_id, now)
    referrer_multiplier = better_of_tier_and_plan_multiplier(referrer, now) if referrer else None
    earned = rules_earn(EarnRequest(
        event=activity.kind, custom_event=activity.name, member_id=activity.member_id,
        occurred_at=activity.occurred_at, store_code=activity.payload.get("store"),
        referrer_id=referrer, tier_multiplier=multiplier.value,
        referrer_multiplier=referrer_multiplier.value if referrer_multiplier else ONE,
    ), source_key=f"activity:{activity.pk}", now=now, pending_days=0)
    benefit_record_multiplier_bonus(earned=earned, member_id=activity.member_id,
                                    applied=multiplier, now=now)
    if referrer_multiplier:
        benefit_record_multiplier_bonus(earned=earned, member_id=referrer,
                                        applied=referrer_multiplier, now=now)
    return earned


def _replayed(activity: MemberActivity) -> EarnOutcome:
    """What a duplicate event paid the first time, each rule marked as a duplicate."""
    return awards_for_source(f"activity:{activity.pk}")
