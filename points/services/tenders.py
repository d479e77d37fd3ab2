"""Tenders: how a sale was paid, and what a return gives back to each way it was paid.

A sale's net amount (what it earns on) is paid by cash, stored value and gift cards; points
used as cash are not part of the net — they are the points tender, which is exactly the
sale's linked points payment. So for a sale sent with tenders:

    Σ cash + stored value + gift cards = net amount      points tender = points as cash

Stored value and gift cards earn like cash: they are part of the net amount the rules pay
on. A return gives back to the tenders that paid, in proportion to what each has left to
give back — a ¥300 sale paid ¥100 cash, ¥150 stored value, ¥50 gift card: returning ¥60 of
it gives back ¥20, ¥30 and ¥10 — and the last return gives back exactly what is left. The
points tender's give-back is the points payment's own (points.services.payments).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import Sum

from core.clock import resolve_now
from core.money import CENT, ZERO
from members.models import Order

from ..errors import PointsError, TenderErrorCode
from ..models import PointsPayment
from ..models.tenders import OrderTender, TenderKind
from .gift_cards import gift_card_give_back, gift_card_spend
from .stored_value import check_money, stored_value_give_back, stored_value_spend

MAX_TENDERS = 10


@dataclass(frozen=True)
class TenderInput:
    kind: str
    amount: Decimal
    gift_card_code: str = ""
    gift_card_pin: str = ""


def tenders_identity(tenders: tuple[TenderInput, ...]) -> str:
    """What a sale's tenders add to its identity (the gift cards by code, never the PIN), so
    the same order number sent again with other tenders is refused."""
    if not tenders:
        return ""
    return json.dumps([[t.kind, str(t.amount), t.gift_card_code] for t in tenders])


def tenders_check(tenders: tuple[TenderInput, ...]) -> tuple[TenderInput, ...]:
    """Each tender a known kind with a positive amount; at most one cash, one stored value
    and one points tender; a gift card named once, with its code and PIN."""
    if len(tenders) > MAX_TENDERS:
        raise PointsError(TenderErrorCode.TENDER_INVALID, n=MAX_TENDERS + 1,
                          why=f"at most {MAX_TENDERS} tenders")
    checked, seen, cards = [], set(), set()
    for n, tender in enumerate(tenders, start=1):
        if tender.kind not in TenderKind.values:
            raise PointsError(TenderErrorCode.TENDER_INVALID, n=n, why="unknown tender")
        try:
            amount = check_money(tender.amount)
        except PointsError:
            raise PointsError(TenderErrorCode.TENDER_INVALID, n=n,
                              why="the amount must be positive money") from None
        if tender.kind == TenderKind.GIFT_CARD:
            code = (tender.gift_card_code or "").strip()
            if not code or code in cards or not tender.gift_card_pin:
                raise PointsError(TenderErrorCode.TENDER_INVALID, n=n,
                                  why="a gift card needs its code and PIN, once")
            cards.add(code)
        elif tender.gift_card_code or tender.gift_card_pin:
            raise PointsError(TenderErrorCode.TENDER_INVALID, n=n,
                              why="only a gift card tender names a code and PIN")
        elif tender.kind in seen:
            raise PointsError(TenderErrorCode.TENDER_INVALID, n=n, why="named twice")
        seen.add(tender.kind)
        checked.append(TenderInput(kind=tender.kind, amount=amount,
                                   gift_card_code=(tender.gift_card_code or "").strip(),
                                   gift_card_pin=tender.gift_card_pin or ""))
    return tuple(checked)


def tenders_pay(*, order: Order, tenders: tuple[TenderInput, ...],
                payment: PointsPayment | None, now: datetime | None = None
                ) -> list[OrderTender]:
    """Take a sale's payment from its tenders and record them (inside the sale's
    transaction, after its points payment is linked): stored value is spent from the
    member's account, gift cards by code and PIN. Nothing is recorded for a sale sent
    without tenders."""
    now = resolve_now(now)
    if not tenders:
        return []
    tenders = tenders_check(tenders)
    money = [t for t in tenders if t.kind != TenderKind.POINTS]
    points = [t for t in tenders if t.kind == TenderKind.POINTS]
    paid = sum((t.amount for t in money), ZERO)
    if paid != order.net_amount:
        raise PointsError(TenderErrorCode.TENDERS_DO_NOT_ADD_UP, paid=paid,
                          net=order.net_amount)
    if points and (payment is None or points[0].amount != order.points_cash):
        raise PointsError(TenderErrorCode.POINTS_TENDER_MISMATCH,
                          points_cash=order.points_cash)
    rows = []
    with transaction.atomic():
        for n, tender in enumerate(money, start=1):
            row = OrderTender(order=order, kind=tender.kind, amount=tender.amount)
            if tender.kind == TenderKind.STORED_VALUE:
                row.stored_value_entry = stored_value_spend(
                    member_id=order.member_id, amount=tender.amount, order_id=order.pk,
                    key=f"sale:{order.pk}:stored-value", now=now).entry
            elif tender.kind == TenderKind.GIFT_CARD:
                row.gift_card_entry = gift_card_spend(
                    code=tender.gift_card_code, pin=tender.gift_card_pin, amount=tender.amount,
                    order_id=order.pk, key=f"sale:{order.pk}:gift-card:{n}", now=now).entry
            rows.append(row)
        if payment is not None:  # the points tender is the linked payment, named or not
            rows.append(OrderTender(order=order, kind=TenderKind.POINTS,
                                    amount=order.points_cash, points_payment=payment))
        OrderTender.objects.bulk_create(rows)
    return rows


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` over the weights in proportion, to the cent (largest remainder, then the
    earlier one); no part exceeds its weight when the total does not exceed theirs."""
    whole = sum(weights, ZERO)
    if total <= 0 or whole <= 0:
        return [ZERO for _ in weights]
    if total >= whole:
        return list(weights)
    exact = [total * w / whole for w in weights]
    parts = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    cents = int((total - sum(parts, ZERO)) / CENT)
    for i in sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))[:cents]:
        parts[i] += CENT
    return parts


def tenders_give_back(*, ret: Order, now: datetime | None = None) -> list[OrderTender]:
    """Give a return's net amount back to the tenders of its sale that paid it, in
    proportion to what each has left to give back; stored value and gift cards get their
    money back (stored value as principal and bonus in the proportions the spend took), cash
    is recorded for the till to pay out; the points tender follows the points payment's
    give-back. A sale recorded without tenders gives nothing back here."""
    now = resolve_now(now)
    sale = ret.original_order
    paid = list(OrderTender.objects.filter(order=sale).order_by("id")
                .select_related("stored_value_entry", "gift_card_entry"))
    if not paid:
        return []
    if OrderTender.objects.filter(order=ret).exists():  # replayed within the return
        return list(OrderTender.objects.filter(order=ret).order_by("id"))
    back = dict(OrderTender.objects.filter(paid__order=sale).values("paid_id")
                .annotate(s=Sum("amount")).values_list("paid_id", "s"))
    money = [t for t in paid if t.kind != TenderKind.POINTS]
    parts = _split(ret.net_amount, [t.amount - back.get(t.pk, ZERO) for t in money])
    rows = []
    with transaction.atomic():
        for tender, part in zip(money, parts, strict=True):
            if part <= 0:
                continue
            row = OrderTender(order=ret, kind=tender.kind, amount=part, paid=tender)
            key = f"return:{ret.pk}:tender:{tender.pk}"
            if tender.kind == TenderKind.STORED_VALUE:
                row.stored_value_entry = stored_value_give_back(
                    spend=tender.stored_value_entry, amount=part, key=key, order_id=ret.pk,
                    now=now).entry
            elif tender.kind == TenderKind.GIFT_CARD:
                row.gift_card_entry = gift_card_give_back(
                    spend=tender.gift_card_entry, amount=part, key=key, order_id=ret.pk,
                    now=now).entry
            rows.append(row)
        points = next((t for t in paid if t.kind == TenderKind.POINTS), None)
        if points is not None and ret.points_cash > 0:
            rows.append(OrderTender(order=ret, kind=TenderKind.POINTS, amount=ret.points_cash,
                                    paid=points, points_payment=points.points_payment))
        OrderTender.objects.bulk_create(rows)
    return rows


__all__ = ["MAX_TENDERS", "TenderInput", "tenders_check", "tenders_give_back",
           "tenders_identity", "tenders_pay"]
