"""What a member reads on each channel, and the mainland SMS rules.

An SMS starts with its signature 【brand】 (the template's, else `settings.SMS_SIGNATURE`);
a marketing SMS ends with the unsubscribe line (reply TD); its length is counted 70
characters in one part, 67 per part beyond (`sms_parts`). A reply 退订 / TD through the
provider's callback withdraws the member's SMS consent (`sms_inbound`)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from core.clock import resolve_now
from core.phones import normalise_mobile
from members.models import Member
from members.services.consent import member_consents_set

from .messages import message_render

UNSUBSCRIBE_LINE = "拒收请回复TD"
SINGLE_PART = 70
PER_PART = 67


def render_for_channel(channel: str, kind: str, body: str, signature: str,
                       variables: dict) -> str:
    text = message_render(body, variables)
    if channel != "sms":
        return text
    brand = (signature or settings.SMS_SIGNATURE).strip("【】 ")
    text = f"【{brand}】{text}"
    if kind == "marketing":
        text = f"{text} {UNSUBSCRIBE_LINE}"
    return text


def sms_parts(text: str) -> int:
    """The parts a carrier bills: 70 characters fit in one, beyond that 67 per part."""
    length = len(text)
    if length <= SINGLE_PART:
        return 1
    return -(-length // PER_PART)


# what a member replies to stop marketing SMS (carriers' convention)
OPT_OUT_WORDS = frozenset({"TD", "退订", "T", "N", "取消", "UNSUBSCRIBE", "STOP"})


def sms_is_opt_out(text: str) -> bool:
    return (text or "").strip().strip("。.!！ ").upper() in OPT_OUT_WORDS


def sms_inbound(*, mobile: str, text: str, now: datetime | None = None) -> list[int]:
    """A member's reply through the provider's callback: an opt-out (退订 / TD) withdraws
    SMS marketing consent of every member on that number who is not closed (source
    `sms_reply`). Returns the members whose consent changed."""
    now = resolve_now(now)
    if not sms_is_opt_out(text):
        return []
    try:
        number = normalise_mobile(mobile)
    except ValueError:
        return []
    changed = []
    for member_id in (Member.objects.filter(mobile=number).exclude(status=Member.Status.CLOSED)
                      .order_by("pk").values_list("pk", flat=True)):
        if member_consents_set(member_id=member_id, changes={"sms": False},
                               source="sms_reply", now=now):
            changed.append(member_id)
    return changed
