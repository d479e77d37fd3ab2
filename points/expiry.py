"""Expiry policies: when a lot earned at a given moment expires.

- none: never;
- rolling: N months after earning, counted on the Beijing calendar (earned 31 March at
  01:00 Beijing time, 1 month → 30 April 01:00 Beijing time, even though it is still 30 March
  in UTC);
- fixed date: the end of a calendar day in Beijing time, e.g. 31 December of the following
  year: anything earned during 2026 (Beijing time) expires at 2028-01-01 00:00 +08:00.

Dates are worked out in the programme's time zone and stored in UTC.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from core.clock import programme_tz


def fixed_expiry_date(*, earned_on: date, month: int, day: int, years_after: int) -> date:
    """The last valid day: the first (month, day) on or after `earned_on`, `years_after`
    years later. A day the month lacks (30 February) is the month's last day."""

    def on(year: int) -> date:
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))

    year = earned_on.year if on(earned_on.year) >= earned_on else earned_on.year + 1
    return on(year + years_after)


def lot_expires_at(settings, earned_at: datetime) -> datetime | None:
    """The moment a lot earned at `earned_at` expires under the programme's policy."""
    policy = settings.expiry_policy
    tz = programme_tz()
    local = earned_at.astimezone(tz)
    if policy == settings.ExpiryPolicy.FIXED_DATE:
        last_day = fixed_expiry_date(earned_on=local.date(), month=settings.expiry_fixed_month,
                                     day=settings.expiry_fixed_day,
                                     years_after=settings.expiry_fixed_years_after)
        return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    if policy == settings.ExpiryPolicy.ROLLING and settings.expiry_months:
        return local + relativedelta(months=settings.expiry_months)
    return None


def last_valid_date(expires_at: datetime) -> date:
    """The Beijing date through which points expiring at `expires_at` can still be spent."""
    return (expires_at - timedelta(microseconds=1)).astimezone(programme_tz()).date()


def end_of_local_day(day: date) -> datetime:
    """The moment a Beijing calendar day ends (the next day's 00:00 +08:00): money valid
    "365 days" from 2 March is valid through that day's end."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=programme_tz())
