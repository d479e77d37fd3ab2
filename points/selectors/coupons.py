"""Reads of coupons: a member's coupons, their history, and those usable on a basket."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from ..models import Coupon, CouponEvent
from ..services.coupons import Basket, CouponValue, coupon_value


def coupons_for(member_id: int) -> QuerySet[Coupon]:
    """A member's coupons, newest first."""
    return (Coupon.objects.filter(member_id=member_id).select_related("template")
            .order_by("-issued_at", "-id"))


def coupon_events_for(member_id: int) -> QuerySet[CouponEvent]:
    return (CouponEvent.objects.filter(member_id=member_id).select_related("coupon", "note")
            .order_by("-id"))


def usable_coupons(*, member_id: int, basket: Basket, now: datetime,
                   limit: int = 200) -> list[CouponValue]:
    """The member's coupons valid now, each valued against the basket (most valuable
    first); those that do not apply say why."""
    coupons = (Coupon.objects.filter(member_id=member_id, state=Coupon.State.ISSUED,
                                     valid_until__gt=now)
               .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
               .select_related("template").order_by("valid_until", "id")[:limit])
    values = []
    for coupon in coupons:
        value, why = coupon_value(template=coupon.template, basket=basket)
        values.append(CouponValue(coupon=coupon, applicable=not why, value=value, why=why))
    values.sort(key=lambda v: (not v.applicable, -v.value, v.coupon.valid_until))
    return values
