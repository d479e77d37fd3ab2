"""Changing a member's marketing consent, per channel, with its time, source and history.

Every writer — the member API, the counter, the admin, an SMS opt-out reply — goes through
`member_consents_set`: the current answer per channel (`MemberConsent`), one
`ConsentChange` per real change, and the member's summary flag (`marketing_consent`:
agrees on at least one channel), all in the caller's transaction under the member's row
lock, so two changes of one member never interleave.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction

from core.clock import resolve_now

from ..errors import MemberError, MemberErrorCode
from ..models import ConsentChange, ContactChannel, Member, MemberConsent

SOURCE_MAX = 32


def consent_changes_check(changes: Mapping[str, object]) -> dict[str, bool]:
    """The channels named and their answers, or `invalid_input`."""
    checked = {}
    for channel, granted in changes.items():
        if channel not in ContactChannel.values:
            raise MemberError(MemberErrorCode.INVALID_INPUT, reason=f"channel {channel!r}")
        if not isinstance(granted, bool):
            raise MemberError(MemberErrorCode.INVALID_INPUT,
                              reason=f"consent for {channel} must be true or false")
        checked[channel] = granted
    return checked


def consent_set_locked(member: Member, changes: dict[str, bool], source: str,
                now: datetime) -> list[str]:
    current = {c.channel: c for c in MemberConsent.objects.filter(member_id=member.pk)}
    changed = []
    for channel, granted in sorted(changes.items()):
        row = current.get(channel)
        if (row.granted if row else False) == granted:
            continue
        if row is None:
            row = MemberConsent(member_id=member.pk, channel=channel)
            current[channel] = row
        row.granted, row.changed_at, row.source = granted, now, source
        row.save()
        ConsentChange.objects.create(member_id=member.pk, channel=channel, granted=granted,
                                     at=now, source=source)
        changed.append(channel)
    summary = any(c.granted for c in current.values())
    if changed and summary != member.marketing_consent:
        member.marketing_consent = summary
        member.marketing_consent_at = now
        member.marketing_consent_source = source
        Member.objects.filter(pk=member.pk).update(
            marketing_consent=summary, marketing_consent_at=now,
            marketing_consent_source=source, updated_at=now)
    return changed


def member_consents_set(*, member_id: int, changes: Mapping[str, object], source: str,
                        now: datetime | None = None) -> list[str]:
    """Set the member's consent on the channels given (`{"sms": False, …}`); returns the
    channels whose answer changed. Unchanged answers write nothing."""
    now = resolve_now(now)
    checked = consent_changes_check(changes)
    source = (source or "")[:SOURCE_MAX]
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(pk=member_id).first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        return consent_set_locked(member, checked, source, now)


def member_consent_all(granted: bool) -> dict[str, bool]:
    """The old single flag as per-channel answers: the same on every channel."""
    return dict.fromkeys(ContactChannel.values, granted)
