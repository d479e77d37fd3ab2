"""A campaign's KPI targets (by its grade) against its actuals, and the frequency warning.

- The campaign's window: `starts_at`–`ends_at`; a campaign without them runs from `run_at`
  for one day. Days are Beijing calendar days.
- Normal day: the mean daily net sales of members (sales less returns, by the Beijing day
  they were booked) over the 28 days before the window, leaving out days inside other
  campaigns' windows (launched ones: not drafts, cancelled campaigns or templates); a day
  without sales counts as 0.
- Sales vs a normal day: the mean daily net sales over the window's days so far ÷ normal day.
- Overall discount: Σ (coupon + tier + other discounts) ÷ Σ gross on members' sales in the
  window (points used as cash are payment, not discount).
- Frequency: launched campaigns of the grade starting in the same Beijing month (or ISO
  week) as this one, this one included; above the grade's `max_campaigns` is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from core.clock import local_date

from ..models import Campaign, CampaignStatus, GradeTarget

BASELINE_DAYS = 28
DEFAULTS = {"S": (Decimal("5"), Decimal("0.20"), 1, "month"),
            "A": (Decimal("2"), Decimal("0.18"), 2, "month"),
            "B": (Decimal("1.5"), Decimal("0.05"), 2, "week")}
LAUNCHED = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED,
            CampaignStatus.ENDED)

# another campaign's window, as [start, end) moments
_OTHER_WINDOW = """
    SELECT COALESCE(c.starts_at, c.run_at) AS s,
           COALESCE(c.ends_at, COALESCE(c.starts_at, c.run_at) + interval '1 day') AS e
    FROM campaigns_campaign c
    WHERE c.id <> %(campaign)s AND NOT c.is_template
      AND c.status IN ('scheduled', 'running', 'paused', 'ended')
      AND COALESCE(c.starts_at, c.run_at) IS NOT NULL
"""

_NORMAL_DAY_SQL = """
WITH days AS (
    SELECT d::date AS day,
           (d::timestamp AT TIME ZONE 'Asia/Shanghai') AS day_start,
           ((d + interval '1 day')::timestamp AT TIME ZONE 'Asia/Shanghai') AS day_end
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d
), kept AS (
    SELECT * FROM days
    WHERE NOT EXISTS (SELECT 1 FROM (""" + _OTHER_WINDOW + """) w
                      WHERE w.s < days.day_end AND w.e > days.day_start)
)
SELECT count(*),
       COALESCE(sum((SELECT COALESCE(sum(CASE WHEN o.kind = 'sale' THEN o.net_amount
                                              ELSE -o.net_amount END), 0)
                     FROM members_order o
                     WHERE o.ordered_at >= kept.day_start AND o.ordered_at < kept.day_end)), 0)
FROM kept
"""

_WINDOW_SQL = """
SELECT COALESCE(sum(CASE WHEN kind = 'sale' THEN net_amount ELSE -net_amount END), 0),
       COALESCE(sum(coupon_discount + tier_discount + other_discount)
                FILTER (WHERE kind = 'sale'), 0),
       COALESCE(sum(gross_amount) FILTER (WHERE kind = 'sale'), 0)
FROM members_order
WHERE ordered_at >= %(start)s AND ordered_at < %(end)s
"""


@dataclass(frozen=True)
class Targets:
    grade: str
    target: GradeTarget
    window: tuple[datetime, datetime] | None
    normal_day: Decimal | None  # None: no day to measure it on
    baseline_days: int
    daily_sales: Decimal | None
    sales_multiple: Decimal | None
    discount_share: Decimal | None
    same_period: int  # launched campaigns of the grade in the period, this one included
    over_frequency: bool


def grade_target(grade: str) -> GradeTarget:
    """The grade's editable targets; the shipped defaults if its row is missing."""
    found = GradeTarget.objects.filter(grade=grade).first()
    if found is not None:
        return found
    sales, discount, most, period = DEFAULTS[grade]
    return GradeTarget(grade=grade, sales_multiple=sales, discount_share=discount,
                       max_campaigns=most, period=period)


def campaign_window(campaign: Campaign) -> tuple[datetime, datetime] | None:
    start = campaign.starts_at or campaign.run_at
    if start is None:
        return None
    return start, campaign.ends_at or start + timedelta(days=1)


def normal_day(campaign: Campaign, start: datetime) -> tuple[Decimal | None, int]:
    """Mean daily member net sales over the 28 Beijing days before `start`, days inside
    other campaigns' windows left out; and how many days were kept."""
    last = local_date(start) - timedelta(days=1)
    first = last - timedelta(days=BASELINE_DAYS - 1)
    with connection.cursor() as cursor:
        cursor.execute(_NORMAL_DAY_SQL, {"first": first, "last": last, "campaign": campaign.pk})
        days, total = cursor.fetchone()
    if not days:
        return None, 0
    return (Decimal(total) / days).quantize(Decimal("0.01")), days


def _period(grade_period: str, day: date) -> tuple[date, date]:
    if grade_period == GradeTarget.Period.WEEK:
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def same_period_count(campaign: Campaign, target: GradeTarget) -> int:
    """Launched campaigns of the grade starting in this one's month (or week), this one
    counted whatever its status."""
    window = campaign_window(campaign)
    if window is None:
        return 0
    first, after = _period(target.period, local_date(window[0]))
    others = 0
    for other in (Campaign.objects.filter(grade=campaign.grade, is_template=False,
                                          status__in=LAUNCHED).exclude(pk=campaign.pk)
                  .only("starts_at", "run_at")):
        start = other.starts_at or other.run_at
        if start is not None and first <= local_date(start) < after:
            others += 1
    return others + 1


def campaign_targets(campaign: Campaign, *, now: datetime) -> Targets:
    target = grade_target(campaign.grade)
    window = campaign_window(campaign)
    count = same_period_count(campaign, target)
    base = daily = multiple = discount = None
    kept = 0
    if window is not None:
        base, kept = normal_day(campaign, window[0])
        end = min(window[1], now)
        if end > window[0]:
            with connection.cursor() as cursor:
                cursor.execute(_WINDOW_SQL, {"start": window[0], "end": end})
                net, discounts, gross = cursor.fetchone()
            days = max(1, (local_date(end - timedelta(microseconds=1))
                           - local_date(window[0])).days + 1)
            daily = (Decimal(net) / days).quantize(Decimal("0.01"))
            if base:
                multiple = (daily / base).quantize(Decimal("0.01"))
            if gross:
                discount = (Decimal(discounts) / Decimal(gross)).quantize(Decimal("0.0001"))
    return Targets(grade=campaign.grade, target=target, window=window, normal_day=base,
                   baseline_days=kept, daily_sales=daily, sales_multiple=multiple,
                   discount_share=discount, same_period=count,
                   over_frequency=count > target.max_campaigns)
