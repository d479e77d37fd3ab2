"""Building campaigns and generated members for the campaign tests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection

from campaigns.models import (
    ActionKind,
    Campaign,
    CampaignAction,
    CampaignVariant,
    MessageTemplate,
)
from members.models import Member, Segment
from members.services.members import MemberInput, member_register
from points.models import CouponTemplate


def members(n: int, now: datetime, prefix: str = "1390000", **fields) -> list[Member]:
    """n active members registered through the members service (facts and accounts)."""
    return [member_register(data=MemberInput(mobile=f"{prefix}{i:04d}", name=f"会员{i}",
                                             **fields), now=now)
            for i in range(n)]


def campaign(now: datetime, *, code: str = "spring", actions=(("points", {"points": 100}),),
             variants: dict[str, int] | None = None, segment: Segment | None = None,
             **fields) -> Campaign:
    """A draft campaign with one variant A (or the given arms and weights) and the actions
    on each variant: (kind, fields)."""
    fields.setdefault("trigger", "once")
    fields.setdefault("run_at", now)
    c = Campaign.objects.create(code=code, name=fields.pop("name", code), segment=segment,
                                created_at=now, updated_at=now, **fields)
    for arm, weight in (variants or {"A": 1}).items():
        variant = CampaignVariant.objects.create(campaign=c, code=arm, weight=weight)
        for kind, action_fields in actions:
            CampaignAction.objects.create(variant=variant, kind=kind, **action_fields)
    return c


def coupon_template(now: datetime, **fields) -> CouponTemplate:
    fields.setdefault("name", "生日券")
    fields.setdefault("kind", "no_threshold")
    fields.setdefault("amount", Decimal("20"))
    fields.setdefault("valid_days", 30)
    return CouponTemplate.objects.create(created_at=now, **fields)


def message_template(now: datetime, body: str = "亲爱的{name}会员，{campaign}", **fields):
    fields.setdefault("code", "t1")
    fields.setdefault("name", "模板")
    fields.setdefault("channel", "sms")
    return MessageTemplate.objects.create(body=body, created_at=now, **fields)


def states(c: Campaign, occasion: str = "once") -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT state, count(*) FROM campaigns_campaignmember WHERE "
                       "campaign_id = %s AND occasion = %s GROUP BY state", [c.pk, occasion])
        return dict(cursor.fetchall())


__all__ = ["ActionKind", "members", "campaign", "coupon_template", "message_template", "states"]
