"""Writes of the counter page that no lower layer offers: handing over a campaign gift; and
the preview of a return (the return done and rolled back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from campaigns.models import CampaignGift
from core.clock import local_date, resolve_now
from loyalty.errors import CounterError, CounterErrorCode
from loyalty.services.intake import record_return
from members.services.orders import ReturnInput


def campaign_gift_hand_over(*, gift_id: int, member_id: int, store_id: int, clerk_id: int,
                            now: datetime | None = None) -> CampaignGift:
    """Hand a campaign gift to its member at a store: once, on or before its collect-by day
    (Beijing calendar), at the store it names or anywhere when it names none. The clerk, the
    store and the time are recorded on the gift. One conditional UPDATE, so two taps or two
    tablets hand it over once."""
    now = resolve_now(now)
    updated = (CampaignGift.objects
               .filter(pk=gift_id, member_id=member_id, collected_at__isnull=True,
                       collect_by__gte=local_date(now))
               .filter(Q(store__isnull=True) | Q(store_id=store_id))
               .update(collected_at=now, handed_over_at=now, handed_over_by_id=clerk_id,
                       handed_over_store_id=store_id))
    if updated != 1:
        raise CounterError(CounterErrorCode.GIFT_NOT_AVAILABLE)
    return CampaignGift.objects.get(pk=gift_id)


@dataclass(frozen=True)
class ReturnPreview:
    refund: Decimal              # money given back to the customer
    points_reversed: int         # points the returned lines had earned, taken back
    points_given_back: int       # points the sale paid as cash, given back to the member
    coupons_restored: int        # coupons a full return gives back


class _DryRun(Exception):  # noqa: N818 - not an error: carries the preview out of the rollback
    pass


def return_preview(*, ret: ReturnInput, now: datetime | None = None) -> ReturnPreview:
    """What `record_return` would do for this return, nothing kept: the return is recorded
    in a transaction that is then rolled back, so the figures are the intake's own (the
    per-line reversal, the share of the points paid as cash, coupons on a full return)
    rather than a second calculation that could drift from it. A refusal is raised as the
    return itself would raise it."""
    now = resolve_now(now)
    try:
        with transaction.atomic():
            outcome = record_return(ret=ret, now=now)
            reversed_entry = outcome.points.entry if outcome.points else None
            back = outcome.points_cash.entry if outcome.points_cash else None
            raise _DryRun(ReturnPreview(
                refund=abs(outcome.order.net_amount),
                points_reversed=(-(reversed_entry.available_delta + reversed_entry.pending_delta)
                                 + reversed_entry.debt_delta) if reversed_entry else 0,
                points_given_back=back.available_delta if back else 0,
                coupons_restored=len(outcome.coupons_restored)))
    except _DryRun as done:
        return done.args[0]
