"""Points given by one member to another, expiry dates and all.

A member with lots of 30 points expiring in March and 100 expiring in June gives 50: the
sender's entry takes the 30 and 20 of the 100 (soonest expiry first, as a spend does); the
receiver's entry puts them into two new lots expiring in March and June. One transfer per
key: the same key again answers the first transfer. Both accounts are locked in member-id
order (points.locks), so transfers between the same members in both directions never
deadlock, and the daily limits are checked under those locks.

`points_transfer` is the one way points move between members; a member merge calls it with
`limits=False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Sum

from core.clock import local_date, resolve_now
from members.services.access import member_note_write

from ..errors import PointsError, PointsErrorCode, TransferErrorCode
from ..locks import lock_accounts
from ..models import EntryKind, PointsEntry, PointsLot, PointsSettings, PointsTransfer
from ..models.transfers import TRANSFER_KEY_LENGTH
from .posting import check_amount, post, posting_member, spending_parts

__all__ = ["TransferOutcome", "points_transfer"]


@dataclass(frozen=True)
class TransferOutcome:
    transfer: PointsTransfer
    created: bool


def _replay(key: str, *, sender_id: int, receiver_id: int, points: int) -> TransferOutcome | None:
    done = PointsTransfer.objects.filter(key=key).first()
    if done is None:
        return None
    if (done.sender_id, done.receiver_id, done.points) != (sender_id, receiver_id, points):
        raise PointsError(TransferErrorCode.TRANSFER_CONFLICT)
    return TransferOutcome(transfer=done, created=False)


def _check_limits(settings: PointsSettings, *, sender_id: int, receiver_id: int, points: int,
                  day) -> None:
    """Refuse what would take the sender past today's sending limit or the receiver past
    today's receiving limit. Runs under both members' account locks, which every transfer
    touching either member takes, so concurrent transfers never exceed a limit."""
    if settings.transfer_daily_limit is not None:
        sent = (PointsTransfer.objects.filter(sender_id=sender_id, local_date=day)
                .aggregate(s=Sum("points"))["s"] or 0)
        if sent + points > settings.transfer_daily_limit:
            raise PointsError(TransferErrorCode.TRANSFER_DAILY_LIMIT,
                              remaining=max(settings.transfer_daily_limit - sent, 0))
    if settings.transfer_daily_receive_limit is not None:
        received = (PointsTransfer.objects.filter(receiver_id=receiver_id, local_date=day)
                    .aggregate(s=Sum("points"))["s"] or 0)
        if received + points > settings.transfer_daily_receive_limit:
            raise PointsError(TransferErrorCode.TRANSFER_RECEIVE_LIMIT,
                              remaining=max(settings.transfer_daily_receive_limit - received, 0))


def points_transfer(*, sender_id: int, receiver_id: int, points: int, key: str,
                    note: str = "", operator_id: int | None = None,
                    owner_id: int | None = None, limits: bool = True,
                    now: datetime | None = None) -> TransferOutcome:
    """Move `points` of the sender's available points to the receiver, lot by lot, each
    keeping its expiry date. Pending and held points stay where they are; the receiver's
    debt is not collected from a gift. Both members must be able to earn and spend.

    `key` makes it idempotent (the caller scopes it: an API key's id, a console form's
    token); `note` is what the person typed, kept as the sender's member note; `limits`
    False skips the daily limits (a member merge).
    """
    now = resolve_now(now)
    check_amount(points)
    key = (key or "").strip()
    if not key or len(key) > TRANSFER_KEY_LENGTH:
        raise PointsError(TransferErrorCode.TRANSFER_KEY_REQUIRED)
    if sender_id == receiver_id:
        raise PointsError(TransferErrorCode.TRANSFER_TO_SELF)
    settings = PointsSettings.current()
    with transaction.atomic():
        sender = posting_member(sender_id)
        receiver = posting_member(receiver_id)
        accounts = lock_accounts([sender_id, receiver_id], now=now)
        if (replay := _replay(key, sender_id=sender_id, receiver_id=receiver_id,
                              points=points)) is not None:
            return replay
        if not sender.can_earn_or_spend:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        if not receiver.can_earn_or_spend:
            raise PointsError(TransferErrorCode.TRANSFER_RECEIVER_FROZEN)
        day = local_date(now)
        if limits:
            _check_limits(settings, sender_id=sender_id, receiver_id=receiver_id,
                          points=points, day=day)
        account = accounts[sender_id]
        if account.available < points:
            raise PointsError(PointsErrorCode.INSUFFICIENT_POINTS, available=account.available,
                              requested=points)
        parts = spending_parts(sender_id, points)
        expiry = dict(PointsLot.objects.filter(pk__in=[p.lot_id for p in parts])
                      .values_list("pk", "expires_at"))
        note_row = member_note_write(member_id=sender_id, text=note, created_by_id=operator_id,
                                     now=now)
        out_entry = post(account, PointsEntry(
            kind=EntryKind.TRANSFER, available_delta=-points, source_key=f"transfer:out:{key}",
            reason="transfer out", operator_id=operator_id, note=note_row), now, parts=parts)
        in_entry = post(accounts[receiver_id], PointsEntry(
            kind=EntryKind.TRANSFER, available_delta=points, source_key=f"transfer:in:{key}",
            reason="transfer in", operator_id=operator_id), now,
            new_lots=[PointsLot(state=PointsLot.State.AVAILABLE, original=-part.points,
                                expires_at=expiry[part.lot_id], carried_from_id=part.lot_id)
                      for part in parts])
        transfer = PointsTransfer.objects.create(
            key=key, sender_id=sender_id, receiver_id=receiver_id, points=points,
            out_entry=out_entry, in_entry=in_entry, local_date=day, operator_id=operator_id,
            owner_id=owner_id, note=note_row, created_at=now)
        return TransferOutcome(transfer=transfer, created=True)
