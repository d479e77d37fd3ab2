"""A member's task progress ("2 of 3 purchases this month"); nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.db import connection

from core.clock import local_date, programme_tz

from ..models import ACTIVITY_GOALS, Task, TaskCompletion, TaskGoal


@dataclass(frozen=True)
class TaskProgress:
    task: Task
    period: str
    done: Decimal          # purchases or yuan so far; 1 once an activity goal is met
    target: Decimal
    completed: bool        # the completion for this period is recorded

    @property
    def reached(self) -> bool:
        return self.done >= self.target


def task_period(task: Task, day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}" if task.monthly else "once"


def month_bounds(day: date) -> tuple[datetime, datetime]:
    """The Beijing month of `day` as [start, end) instants."""
    tz = programme_tz()
    first = day.replace(day=1)
    nxt = (first.replace(year=first.year + 1, month=1) if first.month == 12
           else first.replace(month=first.month + 1))
    return (datetime.combine(first, time(), tzinfo=tz), datetime.combine(nxt, time(), tzinfo=tz))


def _facts(member_id: int, day: date) -> dict[str, Decimal]:
    """Everything the goals read, in one statement."""
    start, end = month_bounds(day)
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT
              (SELECT array_agg(DISTINCT kind) FROM members_memberactivity
                WHERE member_id = %(m)s AND kind = ANY(%(kinds)s)),
              EXISTS (SELECT 1 FROM members_order WHERE member_id = %(m)s AND kind = 'sale'),
              (SELECT count(*) FROM members_order WHERE member_id = %(m)s AND kind = 'sale'
                  AND ordered_at >= %(start)s AND ordered_at < %(end)s),
              (SELECT coalesce(sum(CASE WHEN kind = 'sale' THEN net_amount
                                        ELSE -net_amount END), 0)
                 FROM members_order WHERE member_id = %(m)s
                  AND ordered_at >= %(start)s AND ordered_at < %(end)s)""",
                       {"m": member_id, "kinds": list(ACTIVITY_GOALS.values()),
                        "start": start, "end": end})
        kinds, bought, count, spent = cursor.fetchone()
    facts = {goal: Decimal(1 if kind in (kinds or ()) else 0)
             for goal, kind in ACTIVITY_GOALS.items()}
    facts[TaskGoal.FIRST_PURCHASE] = Decimal(1 if bought else 0)
    facts[TaskGoal.PURCHASES] = Decimal(count)
    facts[TaskGoal.SPEND] = Decimal(spent)
    return facts


def target_of(task: Task) -> Decimal:
    if task.goal == TaskGoal.PURCHASES:
        return Decimal(task.target_count or 1)
    if task.goal == TaskGoal.SPEND:
        return task.target_amount or Decimal(0)
    return Decimal(1)


def task_progress(*, member_id: int, now: datetime) -> list[TaskProgress]:
    """Each active task with the member's progress in its current period."""
    day = local_date(now)
    tasks = list(Task.objects.filter(is_active=True))
    if not tasks:
        return []
    facts = _facts(member_id, day)
    done = set(TaskCompletion.objects.filter(
        member_id=member_id, task__in=tasks,
        period__in={task_period(t, day) for t in tasks}).values_list("task_id", "period"))
    return [TaskProgress(task=t, period=task_period(t, day), done=facts[t.goal],
                         target=target_of(t), completed=(t.pk, task_period(t, day)) in done)
            for t in tasks]
