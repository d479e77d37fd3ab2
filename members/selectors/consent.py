"""A member's consent per channel and its history."""

from __future__ import annotations

from ..models import ConsentChange, ContactChannel, MemberConsent


def member_consents(member_id: int) -> dict[str, bool]:
    """Every channel with the member's current answer (no row: no consent)."""
    granted = dict(MemberConsent.objects.filter(member_id=member_id)
                   .values_list("channel", "granted"))
    return {channel: granted.get(channel, False) for channel in ContactChannel.values}


def member_consent_history(member_id: int, limit: int = 50) -> list[ConsentChange]:
    return list(ConsentChange.objects.filter(member_id=member_id).order_by("-id")[:limit])


def consent_sql(member_alias: str, channel_param: str = "%s") -> str:
    """SQL condition: the member `member_alias` agrees to marketing on the channel given as
    a parameter (set-based jobs: campaigns' messages)."""
    return (f"EXISTS (SELECT 1 FROM members_memberconsent mc WHERE mc.member_id = "
            f"{member_alias}.id AND mc.channel = {channel_param} AND mc.granted)")
