"""Checkout: what the storefront shows while a basket is open.

The preview combines the programme's ways to pay less, in the order a till applies them —
the member's discount (tier or paid plan), then the chosen coupon, then points as cash — and
writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal

from core.clock import resolve_now
from core.money import CENT, ZERO
from members.errors import MemberError, MemberErrorCode
from members.models import Member
from points.errors import PointsError, PointsErrorCode
from points.models import Coupon, PointsSettings
from points.selectors.coupons import usable_coupons
from points.selectors.ledger import account_for
from points.services.coupons import Basket, CouponValue, coupon_check
from tiers.selectors.benefits import member_discount_rate


@dataclass(frozen=True)
class PointsAsCash:
    available: int       # the member's spendable points
    usable: int          # what this order lets them spend
    cash_value: Decimal  # what `usable` is worth in yuan
    max_cash: Decimal    # the largest share of the order points may pay
    points_per_yuan: int
    max_order_share: int  # percent


@dataclass(frozen=True)
class MemberDiscount:
    rate: Decimal         # the share of the price the member pays (0.95 = 9.5折; 1 = none)
    source: str           # "tier", "plan" or "" when no benefit gives one
    amount: Decimal       # what the rate takes off the basket


@dataclass(frozen=True)
class CheckoutPreview:
    member_id: int
    subtotal: Decimal
    shipping_fee: Decimal
    member_discount: MemberDiscount
    discounted_subtotal: Decimal   # the subtotal at member prices; coupons are valued on it
    coupon: CouponValue | None     # the coupon the shopper chose, valued
    payable_before_points: Decimal  # subtotal less the chosen coupon
    points: PointsAsCash
    coupons: list[CouponValue]     # every coupon valid now, best first


def points_as_cash(*, available: int, order_amount: Decimal,
                   settings: PointsSettings) -> PointsAsCash:
    """Points usable as cash on an order of `order_amount`.

    At 100 points = ¥1 and at most 50% of an order, a ¥79.99 order lets points pay up to
    ¥39.99, i.e. 3,999 points; a member with 1,000 points uses 1,000 (¥10.00). Points pay
    whole cents only: at 150 points = ¥1, 1,000 points are ¥6.66 and use 999 points.
    """
    rate = settings.points_per_yuan_value
    share = min(settings.points_max_order_share, 100)
    max_cash = (max(order_amount, ZERO) * share / 100).quantize(CENT, rounding=ROUND_DOWN)
    if rate <= 0 or share <= 0:
        return PointsAsCash(available, 0, ZERO, ZERO, rate, share)
    cash = min((Decimal(max(available, 0)) / rate).quantize(CENT, rounding=ROUND_DOWN), max_cash)
    # the fewest whole points worth `cash` (never more than the member has, since
    # cash ≤ available / rate)
    usable = int((cash * rate).to_integral_value(rounding=ROUND_CEILING))
    return PointsAsCash(available=available, usable=min(usable, available), cash_value=cash,
                        max_cash=max_cash, points_per_yuan=rate, max_order_share=share)


def member_priced(basket: Basket, rate: Decimal) -> Basket:
    """The basket at member prices: each line's amount times the rate, to the cent."""
    if rate == 1:
        return basket
    return replace(basket, lines=tuple(
        replace(line, amount=(line.amount * rate).quantize(CENT, rounding=ROUND_HALF_UP))
        for line in basket.lines))


def checkout_preview(*, member_id: int, basket: Basket, coupon_code: str | None = None,
                     now: datetime | None = None) -> CheckoutPreview:
    """For a member and an open basket: the member's discount, the coupons valid now with
    what each takes off the discounted basket, and the points usable as cash on what is
    left after the chosen coupon (if any).

    A ¥300 basket with a ¥30-off coupon chosen leaves ¥270; at most 50% of that, ¥135, can
    be paid with points. A Gold member at 9.5折 pays ¥285 for the same basket, the coupon
    takes ¥30 of that (its threshold counts the ¥285) and points may pay half of ¥255. A
    frozen member can use neither points, coupons nor the discount. Writes nothing.
    """
    now = resolve_now(now)
    member = Member.objects.filter(pk=member_id).only("pk", "status").first()
    if member is None:
        raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
    active = member.can_earn_or_spend
    subtotal = basket.subtotal
    applied = member_discount_rate(member_id=member_id, now=now) if active else None
    rate = applied.value if applied else Decimal(1)
    basket = member_priced(basket, rate)
    discount = MemberDiscount(
        rate=rate, amount=subtotal - basket.subtotal,
        source="" if applied is None or rate == 1 else ("plan" if applied.plan_id else "tier"))
    chosen = None
    if coupon_code:
        coupon = (Coupon.objects.select_related("template")
                  .filter(code=coupon_code.strip().upper()).first())
        if coupon is None:
            raise PointsError(PointsErrorCode.COUPON_NOT_FOUND)
        if not active:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        value = coupon_check(coupon=coupon, member_id=member_id, basket=basket, now=now)
        chosen = CouponValue(coupon=coupon, applicable=True, value=value)
    payable = max(basket.subtotal - (chosen.value if chosen else ZERO), ZERO)
    available = account_for(member_id).available if active else 0
    points = points_as_cash(available=available, order_amount=payable,
                            settings=PointsSettings.current())
    coupons = usable_coupons(member_id=member_id, basket=basket, now=now) if active else []
    return CheckoutPreview(member_id=member_id, subtotal=subtotal,
                           shipping_fee=basket.shipping_fee, member_discount=discount,
                           discounted_subtotal=basket.subtotal, coupon=chosen,
                           payable_before_points=payable, points=points, coupons=coupons)
