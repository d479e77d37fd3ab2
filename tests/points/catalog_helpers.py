"""Shared fixtures for the rewards catalog and coupon tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from members.models import MemberTag, Tag
from points.models import CouponTemplate, Reward
from points.services.coupons import Basket, BasketLine
from points.services.ledger import points_adjust

D = Decimal


def give_points(member_id: int, points: int, now: datetime) -> None:
    operator, _ = User.objects.get_or_create(username="ops")
    points_adjust(member_id=member_id, points=points, operator_id=operator.pk,
                  reason="starting balance", now=now)


def make_reward(now: datetime, **fields) -> Reward:
    fields.setdefault("name", "保温杯")
    fields.setdefault("kind", "goods")
    fields.setdefault("points_cost", 100)
    tags = fields.pop("tags", ())
    reward = Reward.objects.create(created_at=now, **fields)
    reward.eligible_tags.set(tags)
    return reward


def make_template(now: datetime, **fields) -> CouponTemplate:
    fields.setdefault("name", "满200减30")
    fields.setdefault("kind", "spend_save")
    fields.setdefault("threshold", D("200.00"))
    fields.setdefault("amount", D("30.00"))
    if "valid_until" not in fields:
        fields.setdefault("valid_days", 30)
    return CouponTemplate.objects.create(created_at=now, **fields)


def tag_member(member_id: int, code: str, now: datetime) -> Tag:
    tag, _ = Tag.objects.get_or_create(code=code, defaults={"name": code})
    MemberTag.objects.get_or_create(member_id=member_id, tag=tag, defaults={"added_at": now})
    return tag


def basket(*amounts: str, sku: str = "SKU-1", shipping: str = "0.00") -> Basket:
    return Basket(lines=tuple(BasketLine(sku=f"{sku}" if i == 0 else f"SKU-{i + 1}", quantity=1,
                                         amount=D(a)) for i, a in enumerate(amounts)),
                  shipping_fee=D(shipping))


def later(now: datetime, **delta) -> datetime:
    return now + timedelta(**delta)
