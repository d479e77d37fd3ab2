"""Delivering touches: queued rows leave through their channel's backend (campaigns.channels).

- Written with the action that causes them and delivered after commit: `messages_deliver_soon`
  asks for a delivery run when the writing transaction commits (nothing for one rolled
  back); beat also runs it every 10 seconds for touches due later (quiet hours, retries).
- Claimed in a short transaction: due rows of a channel `FOR UPDATE SKIP LOCKED`, at most
  what the channel's rate leaves in the current minute (`ChannelThrottle`, locked), each
  leased (`next_attempt_at` = now + lease, `attempts` + 1); the backend is called outside
  any transaction; the outcome is recorded only by the lease holder (same attempt number).
- Idempotent per message: the backend gets the same key (`message:<id>`) on every attempt,
  so a provider called again after a timeout, or after a worker died between its call and
  the record (the lease runs out, the row is claimed again), does not send twice.
- A failure is retried with exponential back-off (base × 2^(attempt−1)); after
  `MESSAGE_MAX_ATTEMPTS` the row is dead-lettered (`dead`) with the reason in `last_error`.
- The channel's cost per message is recorded on the touch when it is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from core.clock import resolve_now

from ..channels import Outgoing, SendFailed, backend_for, channel_cost, channel_settings
from ..models import Channel
from .sms import render_for_channel


def messages_deliver_soon() -> None:
    """Ask for a delivery run once the current transaction commits."""
    transaction.on_commit(_queue)


def _queue() -> None:
    from ..tasks import messages_deliver  # the task module imports this one

    messages_deliver.delay()


def message_key(message_id: int) -> str:
    return f"message:{message_id}"


@dataclass(frozen=True)
class Claimed:
    outgoing: Outgoing
    cost_channel: str


_CLAIM_SQL = """
WITH due AS (
    SELECT x.id FROM campaigns_message x
    WHERE x.state = 'queued' AND x.channel = %(channel)s AND x.next_attempt_at <= %(now)s
    ORDER BY x.next_attempt_at, x.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE campaigns_message x
SET attempts = x.attempts + 1, next_attempt_at = %(lease)s
FROM due, members_member m, campaigns_messagetemplate t
WHERE x.id = due.id AND m.id = x.member_id AND t.id = x.template_id
RETURNING x.id, x.channel, x.kind, x.member_id, m.member_no, COALESCE(m.mobile, ''),
          t.body, t.signature, x.variables, x.attempts
"""


def _allowance(channel: str, wanted: int, now: datetime) -> int:
    """How many the channel may still take this minute (taken now); locks its row."""
    per_minute = int(channel_settings(channel).get("per_minute") or 0)
    if per_minute <= 0:
        return 0
    minute = now.replace(second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO campaigns_channelthrottle (channel, window_start, used)
               VALUES (%s, %s, 0) ON CONFLICT (channel) DO NOTHING""", [channel, minute])
        cursor.execute("""SELECT window_start, used FROM campaigns_channelthrottle
                          WHERE channel = %s FOR UPDATE""", [channel])
        window_start, used = cursor.fetchone()
        if window_start < minute:
            window_start, used = minute, 0
        take = max(0, min(wanted, per_minute - used))
        cursor.execute("""UPDATE campaigns_channelthrottle SET window_start = %s, used = %s
                          WHERE channel = %s""", [window_start, used + take, channel])
    return take


def messages_claim(*, channel: str, now: datetime, limit: int) -> list[Outgoing]:
    """Lease up to `limit` due messages of a channel within its rate; commits at once."""
    lease = now + timedelta(seconds=settings.MESSAGE_LEASE_SECONDS)
    with transaction.atomic():
        take = _allowance(channel, limit, now)
        if not take:
            return []
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, {"channel": channel, "now": now, "limit": take,
                                        "lease": lease})
            rows = cursor.fetchall()
            if len(rows) < take:  # give back what was not used
                cursor.execute("""UPDATE campaigns_channelthrottle SET used = used - %s
                                  WHERE channel = %s""", [take - len(rows), channel])
    claimed = []
    for (message_id, channel_, kind, member_id, member_no, mobile, body, signature,
         variables, attempts) in sorted(rows):
        claimed.append(Outgoing(
            message_id=message_id, key=message_key(message_id), channel=channel_, kind=kind,
            member_id=member_id, member_no=member_no, mobile=mobile,
            body=render_for_channel(channel_, kind, body, signature,
                                    json.loads(variables) if isinstance(variables, str)
                                    else variables or {}),
            attempt=attempts))
    return claimed


def _record(outgoing: Outgoing, now: datetime, *, delivered: bool | None,
            error: str = "") -> str:
    """The outcome of one attempt, written only if the row is still this attempt's."""
    max_attempts = settings.MESSAGE_MAX_ATTEMPTS
    with connection.cursor() as cursor:
        if delivered is not None:
            cursor.execute(
                """UPDATE campaigns_message
                   SET state = %s, sent_at = %s, delivered_at = %s, body = %s, cost = %s,
                       last_error = '', next_attempt_at = NULL
                   WHERE id = %s AND state = 'queued' AND attempts = %s""",
                ["delivered" if delivered else "sent", now, now if delivered else None,
                 outgoing.body, channel_cost(outgoing.channel), outgoing.message_id,
                 outgoing.attempt])
            return "delivered" if delivered else "sent"
        if outgoing.attempt >= max_attempts:
            cursor.execute(
                """UPDATE campaigns_message SET state = 'dead', last_error = %s,
                          next_attempt_at = NULL
                   WHERE id = %s AND state = 'queued' AND attempts = %s""",
                [error[:300], outgoing.message_id, outgoing.attempt])
            return "dead"
        back_off = settings.MESSAGE_RETRY_BASE_SECONDS * 2 ** (outgoing.attempt - 1)
        cursor.execute(
            """UPDATE campaigns_message SET last_error = %s, next_attempt_at = %s
               WHERE id = %s AND state = 'queued' AND attempts = %s""",
            [error[:300], now + timedelta(seconds=back_off), outgoing.message_id,
             outgoing.attempt])
        return "retry"


def messages_deliver(*, now: datetime | None = None, limit: int = 200,
                     channels: list[str] | None = None) -> dict[str, int]:
    """One pass over every channel: claim what is due within the rate, send, record.
    Returns counts by outcome (delivered, sent, retry, dead)."""
    counts: dict[str, int] = {"delivered": 0, "sent": 0, "retry": 0, "dead": 0}
    for channel in channels or Channel.values:
        claimed = messages_claim(channel=channel, now=resolve_now(now), limit=limit)
        if not claimed:
            continue
        backend = backend_for(channel)
        for outgoing in claimed:
            try:
                sent = backend.send(outgoing, resolve_now(now))
            except SendFailed as failure:
                outcome = _record(outgoing, resolve_now(now), delivered=None,
                                  error=failure.reason)
            else:
                outcome = _record(outgoing, resolve_now(now), delivered=sent.delivered)
            counts[outcome] += 1
    return counts


def message_delivered(*, message_id: int, now: datetime | None = None) -> bool:
    """A delivery receipt: a sent message becomes delivered (once; a repeat changes
    nothing). Returns whether it changed."""
    now = resolve_now(now)
    with connection.cursor() as cursor:
        cursor.execute("""UPDATE campaigns_message SET state = 'delivered', delivered_at = %s
                          WHERE id = %s AND state = 'sent'""", [now, message_id])
        return cursor.rowcount == 1
