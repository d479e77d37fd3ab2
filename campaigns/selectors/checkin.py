"""A member's check-in calendar and current streak; nothing here writes."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from ..models import CheckIn, CheckinKind, CheckinSettings


def current_streak(member_id: int, today: date) -> int:
    """The run of consecutive days ending today — or yesterday, while today is still open
    to check in; 0 once a day was missed."""
    rows = list(CheckIn.objects.filter(member_id=member_id, day__lte=today)
                .order_by("-day").values_list("day", flat=True)[:400])
    if not rows:
        return 0
    expected = today if rows[0] == today else today - timedelta(days=1)
    run = 0
    for got in rows:
        if got != expected:
            break
        run += 1
        expected -= timedelta(days=1)
    return run


def checkin_calendar(*, member_id: int, year: int, month: int, today: date) -> dict:
    """The month's days with the member's check-ins (daily or make-up), the current
    streak, whether today is done, the make-up check-ins used and left this month."""
    first = date(year, month, 1)
    last = first.replace(day=calendar.monthrange(year, month)[1])
    rows = {day: (kind, streak) for day, kind, streak in CheckIn.objects.filter(
        member_id=member_id, day__gte=first, day__lte=last).values_list("day", "kind", "streak")}
    settings = CheckinSettings.current()
    used = CheckIn.objects.filter(member_id=member_id, kind=CheckinKind.MAKEUP,
                                  day__gte=today.replace(day=1), day__lte=today).count()
    days = []
    for n in range(1, last.day + 1):
        day = first.replace(day=n)
        kind, streak = rows.get(day, (None, None))
        days.append({"day": day, "checked_in": kind is not None, "kind": kind,
                     "streak": streak,
                     "can_make_up": kind is None and day < today
                     and (day.year, day.month) == (today.year, today.month)})
    return {"year": year, "month": month, "days": days,
            "streak": current_streak(member_id, today),
            "checked_in_today": CheckIn.objects.filter(member_id=member_id, day=today).exists(),
            "makeups_used": used, "makeups_left": max(settings.makeup_per_month - used, 0),
            "makeup_cost_points": settings.makeup_cost_points}
