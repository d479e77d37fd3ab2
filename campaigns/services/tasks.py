"""Completing tasks: after each event or sale the intake asks which of the member's tasks
are now reached; each is completed once per period and rewarded once.

Exactly once, even for two events arriving together: the member's points-account lock
(points.locks, taken first, as by every spender) queues the member's evaluations, and the
completion row is inserted with ON CONFLICT DO NOTHING on UNIQUE (task, member, period) —
only the evaluation whose insert wrote the row pays, through the earning rules (kind "task
completed", the task's code; keyed `task:<task>:<period>:<member>`) and the lottery entries.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from core.clock import resolve_now
from points.locks import lock_accounts
from points.models import RuleEvent
from points.services.rules import EarnRequest, rules_earn
from tiers.selectors.benefits import member_points_multiplier

from ..selectors.tasks import task_progress
from .lottery import lottery_entries_grant


def tasks_evaluate(*, member_id: int, now: datetime | None = None) -> list[int]:
    """Complete and reward the member's tasks reached now; the ids of those completed."""
    now = resolve_now(now)
    completed = []
    with transaction.atomic():
        lock_accounts([member_id], now=now)
        for progress in task_progress(member_id=member_id, now=now):
            if progress.completed or not progress.reached:
                continue
            task = progress.task
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO campaigns_taskcompletion (task_id, member_id, period, "
                    "completed_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (task_id, member_id, period) DO NOTHING RETURNING id",
                    [task.pk, member_id, progress.period, now])
                if cursor.fetchone() is None:
                    continue
            key = f"task:{task.pk}:{progress.period}:{member_id}"
            rules_earn(EarnRequest(
                event=RuleEvent.TASK_COMPLETED, custom_event=task.code, member_id=member_id,
                occurred_at=now,
                tier_multiplier=member_points_multiplier(member_id=member_id, now=now).value,
            ), source_key=key, now=now, pending_days=0)
            if task.lottery_id and task.lottery_entries:
                lottery_entries_grant(lottery_id=task.lottery_id, member_id=member_id,
                                      quantity=task.lottery_entries, source_key=key, now=now)
            completed.append(task.pk)
    return completed
