"""Points used as cash: paying, linking the payment to its sale, giving it back on a return.

A storefront spends 150 points under its `Idempotency-Key` (or captures a hold) and sends
the sale with `points_cash` ¥1.50 and `points_payment` naming that spend. The sale is
linked to the payment once; a full return gives back the 150 points into the lots they
came from, with their own expiry dates. A sale that reports points as cash without naming
a payment is recorded, but its return gives nothing back: reporting `points_cash` can
never create points.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from math import floor

from django.db import transaction
from django.db.models import F, Sum

from core.clock import resolve_now
from members.models import Order

from ..errors import PaymentErrorCode, PointsError, PointsErrorCode
from ..locks import lock_accounts
from ..models import EntryKind, PointsEntry, PointsLot, PointsLotMovement, PointsSettings
from ..models.holds import PointsHold
from ..models.payments import PointsPayment, points_cash_value
from .ledger import points_spend
from .posting import LotPart, Movement, check_amount, post, posting_member, replayed
from .spend_cancel import spend_cancelled

__all__ = ["PaymentRef", "PointsPayment", "points_cash_value", "points_pay",
           "points_payment_link", "points_return_payment"]


@dataclass(frozen=True)
class PaymentRef:
    """How a sale names the payment that took its points as cash: a captured hold, the
    `Idempotency-Key` of a spend, or (inside a checkout commit) the payment itself."""

    hold_id: int | None = None
    spend_key: str | None = None
    payment_id: int | None = None

    def describe(self) -> str:
        if self.hold_id is not None:
            return f"hold {self.hold_id}"
        if self.spend_key is not None:
            return f"spend {self.spend_key}"
        return f"payment {self.payment_id}"


@dataclass(frozen=True)
class Payment:
    payment: PointsPayment
    movement: Movement


def points_pay(*, member_id: int, points: int, reference: str = "",
               owner_id: int | None = None, reason: str = "", note: str = "",
               now: datetime | None = None) -> Payment:
    """Spend points as cash and record the payment at today's point value.

    An integrator spends 150 points under the key "pay-7f8c": a sale that names
    `{"spend": "pay-7f8c"}` is then linked to this payment. The same key, member and
    integrator again answers the first payment (other points under it are refused).
    """
    now = resolve_now(now)
    check_amount(points)
    reference = (reference or "").strip()[:255]
    with transaction.atomic():
        posting_member(member_id)
        lock_accounts([member_id], now=now)
        if reference and (done := PointsPayment.objects.select_related("entry").filter(
                kind=PointsPayment.Kind.SPEND, owner_id=owner_id, member_id=member_id,
                reference=reference).first()):
            if done.points != points:
                raise PointsError(PointsErrorCode.SOURCE_KEY_CONFLICT)
            return Payment(payment=done, movement=Movement(entry=done.entry, created=False))
        movement = points_spend(member_id=member_id, points=points, reason=reason, note=note,
                                now=now)
        payment = PointsPayment.objects.create(
            member_id=member_id, kind=PointsPayment.Kind.SPEND, entry=movement.entry,
            owner_id=owner_id, reference=reference, points=points,
            points_per_yuan=PointsSettings.current().points_per_yuan_value, created_at=now)
        return Payment(payment=payment, movement=movement)


def _find(ref: PaymentRef, *, member_id: int, owner_id: int | None) -> PointsPayment:
    payments = PointsPayment.objects.select_for_update()
    if ref.payment_id is not None:
        payment = payments.filter(pk=ref.payment_id).first()
    elif ref.hold_id is not None:
        payment = payments.filter(hold_id=ref.hold_id).first()
        if payment is None:
            hold = PointsHold.objects.filter(pk=ref.hold_id).first()
            if hold is not None and (owner_id is None or hold.owner_id == owner_id):
                raise PointsError(PaymentErrorCode.POINTS_PAYMENT_MISMATCH,
                                  why=f"the hold is {hold.get_state_display()}, not captured")
    else:
        payment = payments.filter(kind=PointsPayment.Kind.SPEND, member_id=member_id,
                                  owner_id=owner_id, reference=ref.spend_key or "").first()
    if payment is None or (owner_id is not None and ref.payment_id is None
                           and payment.owner_id != owner_id):
        raise PointsError(PaymentErrorCode.POINTS_PAYMENT_NOT_FOUND, payment=ref.describe())
    return payment


def points_payment_link(*, order: Order, ref: PaymentRef, owner_id: int | None = None,
                        now: datetime | None = None) -> PointsPayment:
    """Name the payment that took a sale's points as cash; once per payment and sale.

    The payment must be the sale's member's, not cancelled, pay no other order, and be
    worth exactly the sale's `points_cash` at the point value recorded when its points were
    taken (150 points at 100 to the yuan pay ¥1.50, not ¥1.60). A hold is a payment once
    captured.
    """
    now = resolve_now(now)
    with transaction.atomic():
        lock_accounts([order.member_id], now=now)
        payment = _find(ref, member_id=order.member_id, owner_id=owner_id)
        if payment.member_id != order.member_id:
            raise PointsError(PaymentErrorCode.POINTS_PAYMENT_MISMATCH,
                              why="it is another member's")
        if spend_cancelled(payment.entry_id):
            raise PointsError(PaymentErrorCode.POINTS_PAYMENT_MISMATCH,
                              why="its spend was cancelled")
        if payment.order_id not in (None, order.pk):
            taken = Order.objects.filter(pk=payment.order_id).values_list("order_no", flat=True)
            raise PointsError(PaymentErrorCode.POINTS_PAYMENT_TAKEN, order_no=taken.first())
        if order.points_cash != payment.cash_value:
            raise PointsError(PaymentErrorCode.POINTS_PAYMENT_MISMATCH,
                              why=f"{payment.points} points paid ¥{payment.cash_value}, "
                                  f"the sale says ¥{order.points_cash}")
        if payment.order_id is None:
            payment.order = order
            payment.linked_at = now
            payment.save(update_fields=["order", "linked_at"])
        return payment


def _open_parts(payment: PointsPayment, sale: Order) -> list[tuple[int, int, datetime | None]]:
    """(lot, points not yet given back, the lot's expiry) of what the payment took,
    latest-expiring first: a partial return gives back the points that would last longest.
    A spend took them from lots (points −), a capture from held points (held −)."""
    taken: dict[int, int] = defaultdict(int)
    for lot_id, points, held in (PointsLotMovement.objects.filter(entry_id=payment.entry_id)
                                 .values_list("lot_id", "points", "held")):
        taken[lot_id] -= points + held
    for lot_id, points in (PointsLotMovement.objects
                           .filter(entry__kind=EntryKind.REFUND,
                                   entry__order__original_order_id=sale.pk, points__gt=0)
                           .values_list("lot_id", "points")):
        taken[lot_id] -= points
    expiry = dict(PointsLot.objects.filter(pk__in=taken).values_list("pk", "expires_at"))
    parts = [(lot_id, n, expiry[lot_id]) for lot_id, n in taken.items() if n > 0]
    return sorted(parts, key=lambda p: (p[2] is not None,
                                        -p[2].timestamp() if p[2] is not None else 0, -p[0]))


def points_return_payment(*, ret: Order, now: datetime | None = None) -> Movement | None:
    """Give back the points a returned order paid as cash, into the lots they came from.

    A return gives back ⌊payment points × points cash returned ÷ the sale's points cash⌋,
    counted over all the sale's returns so far, so partial returns add up and a full
    return gives back every point: of 150 points paying ¥1.50 on two lines of ¥0.75, the
    first line back returns 75. The points keep their lots' expiry dates; a lot already
    past its date takes them back and expires them at once. A sale without a linked
    payment gives nothing back (None).
    """
    now = resolve_now(now)
    sale = ret.original_order
    payment = PointsPayment.objects.filter(order_id=sale.pk).first()
    if payment is None or sale.points_cash <= 0:
        return None
    key = f"return:{ret.pk}:points-cash"
    with transaction.atomic():
        account = lock_accounts([ret.member_id], now=now)[ret.member_id]
        if (replay := replayed(key)) is not None:
            return replay
        # Returns of one sale are serialised by the sale's row lock (members.services.orders).
        returned_cash = (Order.objects.filter(original_order=sale, kind=Order.Kind.RETURN)
                         .aggregate(s=Sum("points_cash"))["s"] or Decimal(0))
        target = min(floor(Decimal(payment.points) * returned_cash / sale.points_cash),
                     payment.points)
        already = (PointsEntry.objects.filter(kind=EntryKind.REFUND,
                                              order__original_order=sale)
                   .aggregate(s=Sum(F("available_delta")))["s"] or 0)
        points = target - already
        if points <= 0:
            return None
        back, lapsed, left = [], [], points
        for lot_id, open_points, expires_at in _open_parts(payment, sale):
            if left <= 0:
                break
            n = min(open_points, left)
            left -= n
            back.append(LotPart(lot_id=lot_id, points=n))
            if expires_at is not None and expires_at <= now:
                lapsed.append((lot_id, n))
        if not back:
            return None
        entry = post(account, PointsEntry(
            kind=EntryKind.REFUND, available_delta=points - left, order_id=ret.pk,
            source_key=key, reason="points paid on a returned order"), now, parts=back)
        for lot_id, n in lapsed:
            post(account, PointsEntry(
                kind=EntryKind.EXPIRE, available_delta=-n, lot_id=lot_id,
                source_key=f"expire:return:{ret.pk}:lot:{lot_id}", reason="expiry"), now,
                parts=[LotPart(lot_id=lot_id, points=-n)])
        return Movement(entry=entry, created=True)
