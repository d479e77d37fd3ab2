"""The contact policy, applied when touches are written (set-based, one statement per
chunk and channel).

A marketing touch is refused, in this order, when the member is on do-not-disturb (`dnd`),
has not agreed on the channel (`no_consent`), is due in the channel's quiet hours and the
campaign ends before they do (`quiet_hours`), or has reached the programme-wide cap of
marketing touches in the rolling period, or the channel's own cap (`capped`; whitelisted
members are exempt from caps only). Otherwise it is queued, due at once or at the end of
the quiet hours. Service touches ignore caps, consent and quiet hours.

The cap is reserved at queue time: the touch row counts as soon as it is written, and the
members of a chunk are locked (their `members_member` rows, `FOR NO KEY UPDATE`, in
member-id order) before their touches are counted and written, so two campaigns writing to
one member at one moment are serialised and cannot both pass a cap of 1. Row locks, not
advisory locks: a chunk of thousands of members would fill PostgreSQL's shared lock table
(`max_locks_per_transaction`), row locks live in the rows. The lock is taken last in a
campaign's chunk (after the accounts' of points), always in member-id order; the member's
own writers (profile, consent) lock the member row first and take no campaign lock after
it, so no two writers wait on each other in a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connection

from core.clock import programme_tz
from members.selectors.consent import consent_sql

from ..models import ContactPolicy, MessageTemplate

MARKETING = MessageTemplate.Kind.MARKETING


def touch_locks(member_ids: list[int]) -> None:
    """Lock the members' contact (for the rest of the transaction), in member-id order."""
    if not member_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM (SELECT 1 FROM members_member
                                     WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE) t""",
            [sorted(member_ids)])


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(policy: ContactPolicy, channel: str, now: datetime) -> datetime | None:
    """The end of the channel's quiet hours when `now` falls in them (Beijing clock), else
    None."""
    window = (policy.quiet_hours or {}).get(channel)
    if not window:
        return None
    start, end = _clock(window[0]), _clock(window[1])
    local = now.astimezone(programme_tz())
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=programme_tz())


@dataclass(frozen=True)
class Timing:
    """When a chunk's touches on one channel are due, or why they are refused for time."""

    due_at: datetime
    quiet_refused: bool


def touch_timing(policy: ContactPolicy, channel: str, kind: str, now: datetime,
                 window_ends_at: datetime | None) -> Timing:
    if kind != MARKETING:
        return Timing(now, False)
    until = quiet_until(policy, channel, now)
    if until is None:
        return Timing(now, False)
    if window_ends_at is not None and window_ends_at <= until:
        return Timing(now, True)
    return Timing(until, False)


def refusal_sql(member_alias: str) -> str:
    """The refusal of a touch for the member row `member_alias`, as an SQL expression (NULL:
    queue it), with named parameters: kind, channel, quiet_refused, cap, since,
    channel_cap."""
    counted = ("SELECT count(*) FROM campaigns_message x WHERE x.member_id = {m}.id "
               "AND x.kind = 'marketing' AND NOT x.is_test "
               "AND x.state IN ('queued', 'sent', 'delivered') AND x.created_at > %(since)s"
               ).format(m=member_alias)
    consent = consent_sql(member_alias, "%(channel)s")
    return f"""CASE WHEN %(kind)s = 'marketing' THEN CASE
        WHEN {member_alias}.do_not_disturb THEN 'dnd'
        WHEN NOT {consent} THEN 'no_consent'
        WHEN %(quiet_refused)s THEN 'quiet_hours'
        WHEN NOT {member_alias}.contact_whitelist AND (
             (%(cap)s::int IS NOT NULL AND ({counted}) >= %(cap)s::int)
          OR (%(channel_cap)s::int IS NOT NULL
              AND ({counted} AND x.channel = %(channel)s) >= %(channel_cap)s::int))
        THEN 'capped' END END"""


def policy_params(policy: ContactPolicy, channel: str, kind: str, timing: Timing,
                  now: datetime) -> dict:
    cap = (policy.channel_caps or {}).get(channel)
    return {"kind": kind, "channel": channel, "quiet_refused": timing.quiet_refused,
            "cap": policy.cap_count, "since": now - timedelta(days=policy.cap_days),
            "channel_cap": cap if isinstance(cap, int) else None}
