"""Checkout commit: a purchase at the till in one transaction.

The member's discount, the chosen coupon and the points used as cash are applied in the
order the checkout preview shows them (loyalty.services.checkout), then, all or nothing: the coupon
is redeemed, the points are taken as a payment, the gifts the member takes are redeemed
from stock, and the sale is recorded — linked to its payment — and earns through the
rules. A coupon that cannot be used, points the member lacks or a gift out of stock
refuse the whole purchase and change nothing. The caller's key makes a retry answer the
first outcome.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction

from core.clock import resolve_now
from core.money import CENT, ZERO
from members.errors import MemberError, MemberErrorCode, OrderError, OrderErrorCode
from members.models import Member, Order, Store
from members.services.orders import LineInput, SaleInput
from points.errors import PaymentErrorCode, PointsError, PointsErrorCode, TenderErrorCode
from points.locks import lock_accounts
from points.models import Coupon, OrderTender, PointsPayment, PointsSettings, RewardRedemption
from points.models.rewards import Fulfilment
from points.selectors.ledger import entry_for_order
from points.services.coupons import Basket, BasketLine, coupon_redeem
from points.services.ledger import Movement
from points.services.payments import PaymentRef, points_cash_value, points_pay
from points.services.rewards import reward_redeem
from points.services.tenders import TenderInput, tenders_check
from tiers.selectors.benefits import member_discount_rate

from ..models import CheckoutCommit
from .checkout import member_priced, points_as_cash
from .intake import SaleOutcome, record_sale


@dataclass(frozen=True)
class CheckoutLine:
    sku: str
    quantity: int
    amount: Decimal  # what the line costs before the member's discount
    category: str = ""


@dataclass(frozen=True)
class GiftPick:
    reward_id: int
    quantity: int = 1


@dataclass(frozen=True)
class CheckoutInput:
    member_id: int
    store_code: str
    order_no: str
    ordered_at: datetime
    lines: tuple[CheckoutLine, ...]
    coupon_code: str = ""
    points: int = 0                     # points to pay with, as cash
    gifts: tuple[GiftPick, ...] = ()    # rewards taken at the till, for points
    # how the rest is paid: cash, stored value, gift cards, adding up to what is left after
    # the member's discount, the coupon and the points (empty: not recorded)
    tenders: tuple[TenderInput, ...] = ()
    cash_rest: bool = False  # with tenders: cash pays whatever they leave (the counter)


@dataclass(frozen=True)
class CheckoutOutcome:
    created: bool
    sale: SaleOutcome
    coupon: Coupon | None
    payment: PointsPayment | None
    redemptions: tuple[RewardRedemption, ...]


def _digest(checkout: CheckoutInput) -> str:
    what = asdict(checkout)
    for tender in what["tenders"]:  # a PIN is never kept, not even in a hash of the request
        tender.pop("gift_card_pin", None)
    text = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` over the weights in proportion, to the cent (largest remainder, then the
    earlier line); no part exceeds its weight when the total does not exceed theirs."""
    whole = sum(weights, ZERO)
    if total <= 0 or whole <= 0:
        return [ZERO for _ in weights]
    exact = [total * w / whole for w in weights]
    parts = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    cents = int((total - sum(parts, ZERO)) / CENT)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:cents]:
        parts[i] += CENT
    return parts


def _coupon_parts(coupon: Coupon | None, basket: Basket) -> list[Decimal]:
    """What the coupon takes off each line: a product voucher off its product's line, any
    other coupon off every line in proportion to what it costs."""
    amounts = [line.amount for line in basket.lines]
    if coupon is None:
        return [ZERO for _ in amounts]
    if coupon.template.kind == "product_voucher":
        amounts = [a if line.sku == coupon.template.sku else ZERO
                   for a, line in zip(amounts, basket.lines, strict=True)]
    return _split(coupon.discount, amounts)


def _replay(done: CheckoutCommit) -> CheckoutOutcome:
    entry = entry_for_order(order_id=done.order_id, kind="earn")
    order = Order.objects.select_related("store").get(pk=done.order_id)
    payment = PointsPayment.objects.filter(pk=done.payment_id).first()
    sale = SaleOutcome(order=order, created=False,
                       points=Movement(entry=entry, created=False) if entry else None,
                       payment=payment,
                       tenders=tuple(OrderTender.objects.filter(order=order).order_by("id")))
    return CheckoutOutcome(
        created=False, sale=sale,
        coupon=Coupon.objects.filter(pk=done.coupon_id).first() if done.coupon_id else None,
        payment=payment,
        redemptions=tuple(RewardRedemption.objects.filter(pk__in=done.redemption_ids)
                          .order_by("id")))


def checkout_commit(*, checkout: CheckoutInput, key: str, owner_id: int | None = None,
                    now: datetime | None = None) -> CheckoutOutcome:
    """Commit a purchase: coupon, points, gifts and the sale with its earning, together.

    A Gold member (9.5折) buys ¥200 of tea with a ¥20-off coupon and pays ¥5.00 with 500
    points: the sale is recorded at ¥200 gross, ¥10 member discount, ¥20 coupon and ¥5
    points as cash, ¥165 net, which is what it earns on; the coupon is redeemed on the
    order and the 500 points are the order's payment, given back if it is returned.
    Points may pay at most the programme's share of what is left after the coupon.
    The rest may be paid by tenders — ¥100 cash and ¥65 from stored value, say — which then
    add up to the ¥165 exactly; stored value and gift cards are taken with the sale and
    earn like cash.
    The same key again answers this outcome; another purchase under it is refused.
    """
    now = resolve_now(now)
    key = key.strip()
    if not key or len(key) > 255:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason="the key must be 1–255 characters")
    if not checkout.lines:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason="an order needs at least one line")
    for n, line in enumerate(checkout.lines, start=1):
        if (not isinstance(line.quantity, int) or line.quantity < 1
                or not isinstance(line.amount, Decimal) or line.amount < 0):
            raise OrderError(OrderErrorCode.INVALID_ORDER,
                             reason=f"line {n}: a positive quantity and an amount of 0 or more")
    if (not isinstance(checkout.points, int) or isinstance(checkout.points, bool)
            or checkout.points < 0):
        raise PointsError(PointsErrorCode.NON_POSITIVE_AMOUNT)
    tenders = tenders_check(checkout.tenders)
    if any(t.kind == "points" for t in tenders):
        raise PointsError(TenderErrorCode.TENDER_INVALID, n=1,
                          why="points pay through `points`, not as a tender")
    digest = _digest(checkout)
    with transaction.atomic():
        with connection.cursor() as cursor:  # one commit per key at a time
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [f"checkout:{key}"])
        if (done := CheckoutCommit.objects.filter(key=key).first()) is not None:
            if done.request_hash != digest:
                raise PointsError(PointsErrorCode.SOURCE_KEY_CONFLICT)
            return _replay(done)
        member = Member.objects.filter(pk=checkout.member_id).only("pk", "status").first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        if not Store.objects.filter(code=checkout.store_code).exists():
            raise MemberError(MemberErrorCode.STORE_NOT_FOUND, store=checkout.store_code)
        account = lock_accounts([member.pk], now=now)[member.pk]  # the account first
        active = member.can_earn_or_spend

        # the till's order: member prices, then the coupon, then points on what is left
        basket = Basket(lines=tuple(BasketLine(sku=line.sku, quantity=line.quantity,
                                               amount=line.amount, category=line.category)
                                    for line in checkout.lines))
        rate = member_discount_rate(member_id=member.pk, now=now).value if active else Decimal(1)
        priced = member_priced(basket, rate)
        coupon = None
        if checkout.coupon_code:
            coupon = coupon_redeem(code=checkout.coupon_code, member_id=member.pk,
                                   basket=priced, order_no=checkout.order_no, now=now)
        coupon_parts = _coupon_parts(coupon, priced)
        left = [line.amount - c for line, c in zip(priced.lines, coupon_parts, strict=True)]
        payment, cash = None, ZERO
        if checkout.points:
            settings = PointsSettings.current()
            if account.available < checkout.points:
                raise PointsError(PointsErrorCode.INSUFFICIENT_POINTS,
                                  available=account.available, requested=checkout.points)
            cash = points_cash_value(checkout.points, settings.points_per_yuan_value)
            if cash <= 0:
                raise PointsError(PaymentErrorCode.POINTS_WORTH_NOTHING,
                                  points=checkout.points)
            usable = points_as_cash(available=account.available, order_amount=sum(left, ZERO),
                                    settings=settings)
            if cash > usable.max_cash:
                raise PointsError(PaymentErrorCode.POINTS_OVER_ORDER_SHARE,
                                  max_cash=usable.max_cash, usable=usable.usable)
            payment = points_pay(member_id=member.pk, points=checkout.points,
                                 owner_id=owner_id, reason=f"order {checkout.order_no}"[:200],
                                 now=now).payment
        points_parts = _split(cash, left)
        if checkout.cash_rest and tenders:
            rest = sum(left, ZERO) - cash - sum((t.amount for t in tenders), ZERO)
            if rest > 0:
                tenders = (*tenders, TenderInput(kind="cash", amount=rest))
        redemptions = tuple(
            reward_redeem(member_id=member.pk, reward_id=gift.reward_id, quantity=gift.quantity,
                          fulfilment=Fulfilment.PICKUP, store_code=checkout.store_code,
                          source_key=f"checkout:{key}:gift:{n}", now=now)
            for n, gift in enumerate(checkout.gifts, start=1))
        sale = record_sale(sale=SaleInput(
            store_code=checkout.store_code, order_no=checkout.order_no, member_id=member.pk,
            ordered_at=checkout.ordered_at,
            lines=tuple(LineInput(line_no=n, sku=line.sku, category=line.category,
                                  quantity=line.quantity, gross_amount=line.amount,
                                  tier_discount=line.amount - member_line.amount,
                                  coupon_discount=c, points_cash=p)
                        for n, (line, member_line, c, p) in enumerate(
                            zip(basket.lines, priced.lines, coupon_parts, points_parts,
                                strict=True), start=1))),
            payment=PaymentRef(payment_id=payment.pk) if payment else None,
            tenders=tenders, owner_id=owner_id, now=now)
        if not sale.created:  # the number was used by a sale recorded without this commit
            raise OrderError(OrderErrorCode.ORDER_NUMBER_CONFLICT, order_no=checkout.order_no)
        payment = sale.payment  # as linked to the order
        CheckoutCommit.objects.create(
            key=key, request_hash=digest, member_id=member.pk, order=sale.order, coupon=coupon,
            payment=payment, redemption_ids=[r.pk for r in redemptions], created_at=now)
        return CheckoutOutcome(created=True, sale=sale, coupon=coupon, payment=payment,
                               redemptions=redemptions)
