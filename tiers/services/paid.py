"""Paid membership (付费会员): purchases, renewals and lapse. No payment is taken here: the
storefront reports a purchase it was paid for (API), or an operator enters one (admin).

A purchase while the membership is active extends it from its current end (renewal); one
after it ended starts a new period at once (the member returns, and growth decay stops).
Every write holds the member's growth-account lock (tiers.locks), the same lock the decay
job takes, so a purchase and the day's decay never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction

from core.batch import execute_limited
from core.clock import resolve_now
from members.errors import MemberError, MemberErrorCode
from members.models import Member
from members.services.batch import batch_in_chunks, batch_run

from ..errors import TierError, TierErrorCode
from ..locks import lock_growth_accounts
from ..models.paid import PaidMembership, PaidPlan, PaidPurchase, PaidStatus, PurchaseKind

MAX_PURCHASE_AMOUNT = Decimal("99999999.99")


@dataclass(frozen=True)
class PurchaseOutcome:
    purchase: PaidPurchase
    membership: PaidMembership
    created: bool


def _check_amount(amount: Decimal) -> Decimal:
    """One condition, one code: below zero is negative, above the limit (or infinite) too
    large, anything that is not a number invalid."""
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise TierError(TierErrorCode.INVALID_AMOUNT) from None
    if amount.is_nan():
        raise TierError(TierErrorCode.INVALID_AMOUNT)
    if amount < 0:
        raise TierError(TierErrorCode.NEGATIVE_AMOUNT)
    if amount > MAX_PURCHASE_AMOUNT:
        raise TierError(TierErrorCode.AMOUNT_TOO_LARGE, limit=MAX_PURCHASE_AMOUNT)
    return amount.quantize(Decimal("0.01"))


def paid_purchase(*, member_id: int, plan_code: str, purchase_id: str, amount: Decimal,
                  channel: str, operator_id: int | None = None,
                  now: datetime | None = None) -> PurchaseOutcome:
    """Record a purchase of a plan: a first purchase or one after lapsing starts now; a
    renewal while active extends from the current end (an annual plan bought on 1 March
    with a membership paid until 10 April runs to 10 April next year). The purchase id is
    the storefront's: the same id again answers the first purchase."""
    now = resolve_now(now)
    amount = _check_amount(amount)
    plan = PaidPlan.objects.filter(code=plan_code, is_active=True).first()
    if not Member.objects.filter(pk=member_id).exists():  # before the lock inserts its row
        raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
    with transaction.atomic():
        lock_growth_accounts([member_id], now=now)
        first = PaidPurchase.objects.filter(purchase_id=purchase_id).first()
        if first is not None:
            if (first.member_id, first.plan.code, first.amount) != (member_id, plan_code, amount):
                raise TierError(TierErrorCode.PURCHASE_ID_CONFLICT)
            return PurchaseOutcome(purchase=first, created=False,
                                   membership=PaidMembership.objects.get(member_id=member_id))
        if plan is None:
            raise TierError(TierErrorCode.PLAN_NOT_FOUND, plan=plan_code)
        if not Member.objects.filter(Member.can_earn_or_spend_q(), pk=member_id).exists():
            raise TierError(TierErrorCode.MEMBER_NOT_ACTIVE)

        membership = PaidMembership.objects.filter(member_id=member_id).first()
        if membership is None:
            kind, start = PurchaseKind.NEW, now
            membership = PaidMembership(member_id=member_id, first_started_at=now,
                                        period_started_at=now)
        elif membership.ends_at > now:
            kind, start = PurchaseKind.RENEWAL, membership.ends_at
        else:
            kind, start = PurchaseKind.RETURNING, now
            membership.period_started_at = now
        end = start + relativedelta(months=plan.duration_months)
        try:
            with transaction.atomic():
                purchase = PaidPurchase.objects.create(
                    member_id=member_id, plan=plan, purchase_id=purchase_id, kind=kind,
                    channel=channel, amount=amount, period_start=start, period_end=end,
                    operator_id=operator_id, created_at=now)
        except IntegrityError:
            # the same purchase id recorded at this moment for another member
            raise TierError(TierErrorCode.PURCHASE_ID_CONFLICT) from None
        membership.plan = plan
        membership.status = PaidStatus.ACTIVE
        membership.ends_at = end
        membership.purchases += 1
        membership.updated_at = now
        membership.save()
        return PurchaseOutcome(purchase=purchase, membership=membership, created=True)


# the status change and its history row in one statement (the count is the rows changed)
_LAPSE_SQL = """
WITH lapsed AS (
    UPDATE tiers_paidmembership SET status = 'lapsed', updated_at = %(now)s
    WHERE member_id IN (SELECT member_id FROM tiers_paidmembership
                        WHERE status = 'active' AND ends_at <= %(now)s
                        ORDER BY member_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
    RETURNING member_id, plan_id, ends_at),
recorded AS (
    INSERT INTO tiers_paidlapse (member_id, plan_id, ended_at, created_at)
    SELECT member_id, plan_id, ends_at, %(now)s FROM lapsed
    ON CONFLICT (member_id, ended_at) DO NOTHING)
SELECT member_id FROM lapsed
"""


def paid_lapse_due(*, now: datetime | None = None, chunk: int = 10_000,
                   run_key: str | None = None) -> int:
    """Mark memberships whose paid period has ended as lapsed (the daily job). Benefits
    already stopped at the end itself: readers compare `ends_at` with the time."""
    progress = batch_run("paid.lapse", run_key=run_key, now=resolve_now(now))
    return batch_in_chunks(progress, lambda: execute_limited(
        _LAPSE_SQL, {"now": progress.now}, chunk=chunk), chunk=chunk)
