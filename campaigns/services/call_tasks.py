"""Clerk call tasks: a touch on the `clerk_call` channel is, once sent, a task on the counter
page of the member's home store — the script (the rendered text) and an outcome form.
Recording the outcome closes it once: reached → delivered, otherwise failed with the
outcome; `declined` also withdraws the member's consent to marketing calls by a clerk."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from core.clock import resolve_now
from members.services.consent import member_consents_set

from ..errors import CampaignError, CampaignErrorCode
from ..models import CallOutcome


def call_task_record(*, message_id: int, store_id: int, clerk_id: int, outcome: str,
                     now: datetime | None = None) -> None:
    """Close an open call task of a member whose home store is `store_id`."""
    now = resolve_now(now)
    if outcome not in CallOutcome.values:
        raise CampaignError(CampaignErrorCode.CALL_TASK_INVALID)
    reached = outcome == CallOutcome.REACHED
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """UPDATE campaigns_message x
               SET state = %s, delivered_at = CASE WHEN %s THEN %s::timestamptz END,
                   last_error = CASE WHEN %s THEN '' ELSE %s END, call_outcome = %s,
                   called_by_id = %s, called_store_id = %s
               FROM members_member m
               WHERE x.id = %s AND x.channel = 'clerk_call' AND x.state = 'sent'
                 AND m.id = x.member_id AND m.home_store_id = %s
               RETURNING x.member_id""",
            ["delivered" if reached else "failed", reached, now, reached, outcome, outcome,
             clerk_id, store_id, message_id, store_id])
        row = cursor.fetchone()
        if row is None:
            raise CampaignError(CampaignErrorCode.CALL_TASK_CLOSED)
        if outcome == CallOutcome.DECLINED:
            member_consents_set(member_id=row[0], changes={"clerk_call": False},
                                source="clerk_call", now=now)
