"""Time: stored in UTC, reasoned about in the programme's time zone (Asia/Shanghai).

Every service takes `now`; calendar rules (daily caps, birthday month, "31 December") use
`local_date(now)`, never the UTC date.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def programme_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def resolve_now(now: datetime | None) -> datetime:
    if now is None:
        return timezone.now()
    if timezone.is_naive(now):
        raise ValueError("now must be timezone-aware")
    return now


def local_date(moment: datetime) -> date:
    return moment.astimezone(programme_tz()).date()
