"""The record of reads that matter (who revealed a full mobile number, who exported members),
and the notes people type about a member, kept off the append-only rows that point at them."""

from __future__ import annotations

from datetime import datetime

from core.actor import actor_columns, current_actor
from core.clock import resolve_now

from ..models import AccessEvent, Member, MemberNote


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


def member_note_write(*, member_id: int | None, text: str, created_by_id: int | None = None,
                      now: datetime | None = None) -> MemberNote | None:
    """Keep what a person typed (why points were spent, why a coupon was voided) as a note an
    append-only row can point at; erasure blanks the note and leaves the row whole. Written by
    the given user, else the current actor's user. No text, no note. `member_id` is None for
    a note about a coupon not yet issued to anyone."""
    text = (text or "").strip()[:500]
    if not text:
        return None
    if created_by_id is None:
        actor = current_actor()
        created_by_id = actor.user_id if actor else None
    return MemberNote.objects.create(member_id=member_id, text=text, created_by_id=created_by_id,
                                     created_at=resolve_now(now))
