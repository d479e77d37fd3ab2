"""The record of reads that matter: who revealed a full mobile number, who exported members."""

from __future__ import annotations

from datetime import datetime

from core.actor import actor_columns
from core.clock import resolve_now

from ..models import AccessEvent, Member


def access_record(*, kind: str, member_id: int | None = None, subject: str = "",
                  row_count: int | None = None, now: datetime | None = None) -> AccessEvent:
    """Append one access event for the current actor (who), now (when) and the member or the
    export (what). The data read is never copied here."""
    return AccessEvent.objects.create(kind=kind, member_id=member_id, subject=subject[:200],
                                      row_count=row_count, created_at=resolve_now(now),
                                      **actor_columns())


def member_mobile_reveal(*, member_id: int, now: datetime | None = None) -> str:
    """The full mobile number of a member, recorded as read by the current actor."""
    mobile = Member.objects.filter(pk=member_id).values_list("mobile", flat=True).first()
    access_record(kind=AccessEvent.Kind.MOBILE_REVEAL, member_id=member_id, now=now)
    return mobile or ""
