"""A template previewed for a real member: what they would read, and its SMS parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import local_date
from members.models import Member

from ..models import MessageTemplate
from ..services.sms import render_for_channel, sms_parts


@dataclass(frozen=True)
class Preview:
    member: Member
    text: str
    characters: int
    parts: int | None  # SMS only


def message_preview(*, template: MessageTemplate, member: Member, now: datetime) -> Preview:
    """The member's own name and number; what a campaign would give shown with examples."""
    today = local_date(now)
    variables = {"name": member.name, "member_no": member.member_no, "campaign": "会员日",
                 "points": 100, "coupon_value": "20.00",
                 "coupon_valid_until": str(today + timedelta(days=30)), "gift": "帆布袋",
                 "collect_by": str(today + timedelta(days=7))}
    text = render_for_channel(template.channel, template.kind, template.body,
                              template.signature, variables)
    return Preview(member=member, text=text, characters=len(text),
                   parts=sms_parts(text) if template.channel == "sms" else None)
