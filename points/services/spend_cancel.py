"""Cancelling a spend: a mistaken spend, or a partner's cancellation of what it took.

Within the programme's window (`PointsSettings.spend_cancel_days`) a spend is undone by a
`cancel` entry that puts each point back into the lot it came from, with that lot's own
expiry date: a spend of 300 from lots of 200 (June) and 500 (December) gives back 200 and
100 to those two lots. A lot already past its date takes its points back and expires them
at once, recorded as an `expire` entry. Once per spend (`cancel:entry:<id>`).

A spend that paid an order (a linked `PointsPayment`) is never cancelled here: its points
come back only through the order's return. A cancelled spend can no longer be named as
a payment (points.services.payments). Spends that redeemed a reward or went to a partner
are undone on their own records (the redemption's cancellation).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from core.clock import local_date, resolve_now
from members.models import Order
from members.services.access import member_note_write

from ..errors import PointsError, SpendCancelErrorCode
from ..locks import lock_accounts
from ..models import (
    EntryKind,
    PartnerExchange,
    PointsEntry,
    PointsLot,
    PointsLotMovement,
    PointsPayment,
    PointsSettings,
    RewardRedemption,
)
from .posting import LotPart, Movement, post, posting_member, replayed

__all__ = ["points_spend_cancel", "spend_cancel_key", "spend_cancelled"]


def spend_cancel_key(entry_id: int) -> str:
    """The source key of the entry that cancels spend `entry_id`."""
    return f"cancel:entry:{entry_id}"


def spend_cancelled(entry_id: int) -> bool:
    return PointsEntry.objects.filter(source_key=spend_cancel_key(entry_id)).exists()


def points_spend_cancel(*, member_id: int, entry_id: int, note: str = "",
                        operator_id: int | None = None, owner_id: int | None = None,
                        owned_only: bool = False, now: datetime | None = None) -> Movement:
    """Give back the points of a member's spend, into the lots they came from.

    `owned_only` (an integrator): only spends the integrator `owner_id` made as payments
    are found. The same spend again answers the first cancellation.
    """
    now = resolve_now(now)
    with transaction.atomic():
        posting_member(member_id)
        account = lock_accounts([member_id], now=now)[member_id]
        spend = PointsEntry.objects.filter(pk=entry_id, member_id=member_id,
                                           kind=EntryKind.SPEND).first()
        if spend is None:
            raise PointsError(SpendCancelErrorCode.SPEND_NOT_FOUND)
        payment = PointsPayment.objects.filter(entry_id=spend.pk).first()
        if owned_only and (payment is None or payment.owner_id != owner_id):
            raise PointsError(SpendCancelErrorCode.SPEND_NOT_FOUND)
        key = spend_cancel_key(spend.pk)
        if (replay := replayed(key, member_id=member_id, kind=EntryKind.CANCEL)) is not None:
            return replay
        if payment is not None and payment.order_id is not None:
            order_no = Order.objects.filter(pk=payment.order_id).values_list("order_no",
                                                                            flat=True).first()
            raise PointsError(SpendCancelErrorCode.SPEND_PAID_ORDER, order_no=order_no)
        if RewardRedemption.objects.filter(spend_entry_id=spend.pk).exists():
            raise PointsError(SpendCancelErrorCode.SPEND_HAS_RECORD,
                              what=_("reward redemption"))
        if PartnerExchange.objects.filter(entry_id=spend.pk).exists():
            raise PointsError(SpendCancelErrorCode.SPEND_HAS_RECORD, what=_("partner exchange"))
        days = PointsSettings.current().spend_cancel_days
        if days == 0 or spend.created_at + timedelta(days=days) < now:
            raise PointsError(SpendCancelErrorCode.SPEND_CANCEL_WINDOW_OVER, days=days,
                              date=local_date(spend.created_at).isoformat())
        taken = list(PointsLotMovement.objects.filter(entry_id=spend.pk, points__lt=0)
                     .values_list("lot_id", "points"))
        expiry = dict(PointsLot.objects.filter(pk__in=[lot for lot, _n in taken])
                      .values_list("pk", "expires_at"))
        back = [LotPart(lot_id=lot_id, points=-points) for lot_id, points in taken]
        entry = post(account, PointsEntry(
            kind=EntryKind.CANCEL, available_delta=-spend.available_delta, source_key=key,
            reason="spend cancelled", operator_id=operator_id,
            note=member_note_write(member_id=member_id, text=note, created_by_id=operator_id,
                                   now=now)), now, parts=back)
        for part in back:
            expires_at = expiry[part.lot_id]
            if expires_at is not None and expires_at <= now:
                post(account, PointsEntry(
                    kind=EntryKind.EXPIRE, available_delta=-part.points, lot_id=part.lot_id,
                    source_key=f"expire:cancel:{spend.pk}:lot:{part.lot_id}",
                    reason="expiry"), now, parts=[LotPart(lot_id=part.lot_id,
                                                          points=-part.points)])
        return Movement(entry=entry, created=True)
