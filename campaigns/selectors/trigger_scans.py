"""Time-based triggers: a daily scan, set-based SQL over ranges of member ids.

Nothing is written when a day passes, so these events are not in the feed: each day the
scan asks which members have reached their moment, on the Beijing calendar:

| kind | occasion | due on |
|---|---|---|
| lapse | `lapse:<last sale id>` | the day the member has gone N days without a purchase |
| new_no_purchase | `once` | N days after registration, when the member has not bought yet |
| paid_end | `paid:<membership (member) id>:<end date>` | N days before / after the paid end |
| points_expiring | `lot:<lot id>` (the member's first lot to expire) | points expire within N days |

A lapse or a paid end stays due for `grace_days` days, so a scan missed on one day is made
up the next; the occasion is the same each of those days, and the campaign's UNIQUE
(campaign, occasion, member) acts once. A member who buys again and lapses again has a new
last sale, so a new occasion: once per lapse. A renewed paid membership has a new end date.
Points: one occasion per member per first-expiring lot, so a member with five lots
expiring together is told once, with the total.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from math import ceil

from django.conf import settings
from django.db import connection

from campaigns.selectors.triggers import TriggerEvent, TriggerKind, TriggerSpec
from core.clock import local_date, programme_tz
from members.models import MemberSettings

DEFAULT_CHUNK = 100_000


def member_id_ranges(*, chunk: int = DEFAULT_CHUNK) -> Iterator[tuple[int, int]]:
    """[lo, hi) ranges of member ids covering every member, `chunk` ids each."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM members_member")
        low, high = cursor.fetchone()
    if low is None:
        return
    for lo in range(low, high + 1, chunk):
        yield lo, lo + chunk


def trigger_scan(spec: TriggerSpec, *, now: datetime, lo: int, hi: int) -> list[TriggerEvent]:
    """The events of a time-based trigger due at `now` for active members with ids in
    [lo, hi)."""
    if spec.kind == TriggerKind.LAPSE:
        return _lapses(spec, now=now, lo=lo, hi=hi)
    if spec.kind == TriggerKind.NEW_NO_PURCHASE:
        return _new_no_purchase(spec, now=now, lo=lo, hi=hi)
    if spec.kind == TriggerKind.PAID_END:
        return _paid_ends(spec, now=now, lo=lo, hi=hi)
    if spec.kind == TriggerKind.POINTS_EXPIRING:
        return _points_expiring(spec, now=now, lo=lo, hi=hi)
    raise ValueError(f"{spec.kind} is not a time-based trigger")


def lapse_threshold(spec: TriggerSpec) -> tuple[int, bool]:
    """(days for members judged by a fixed or the programme's cycle, whether a member's
    own cycle replaces it when they have one)."""
    if spec.days is not None:
        return spec.days, False
    programme = MemberSettings.current().repurchase_cycle_days
    return max(1, ceil(programme * spec.factor)), spec.cycle == "member"


_LAPSE_SQL = """
WITH idle AS (
    SELECT s.member_id, s.last_purchase_at,
           %(today)s::date - (s.last_purchase_at AT TIME ZONE %(tz)s)::date AS days,
           CASE WHEN %(own)s AND s.repurchase_cycle_days IS NOT NULL
                THEN greatest(1, ceil(s.repurchase_cycle_days * %(factor)s))::int
                ELSE %(base)s END AS due_after
      FROM members_memberstats s
     WHERE s.member_id >= %(lo)s AND s.member_id < %(hi)s
)
SELECT i.member_id, last_sale.id, i.last_purchase_at, i.days, i.due_after
  FROM idle i
  JOIN members_member m ON m.id = i.member_id AND m.status = 'active'
 CROSS JOIN LATERAL (SELECT o.id FROM members_order o
                      WHERE o.member_id = i.member_id AND o.kind = 'sale'
                      ORDER BY o.ordered_at DESC, o.id DESC LIMIT 1) last_sale
 WHERE i.days >= i.due_after AND i.days < i.due_after + %(grace)s
 ORDER BY i.member_id
"""


def _lapses(spec: TriggerSpec, *, now: datetime, lo: int, hi: int) -> list[TriggerEvent]:
    base, own = lapse_threshold(spec)
    with connection.cursor() as cursor:
        cursor.execute(_LAPSE_SQL, {"today": local_date(now), "tz": settings.TIME_ZONE,
                                    "own": own, "factor": spec.factor, "base": base,
                                    "grace": spec.grace_days, "lo": lo, "hi": hi})
        rows = cursor.fetchall()
    return [TriggerEvent(spec.kind, member_id, f"lapse:{sale_id}", {
                "last_order_id": sale_id, "last_purchase_at": last_at, "days": days,
                "due_after_days": due_after})
            for member_id, sale_id, last_at, days, due_after in rows]


_NEW_NO_PURCHASE_SQL = """
SELECT m.id, m.created_at, %(today)s::date - (m.created_at AT TIME ZONE %(tz)s)::date AS days
  FROM members_member m
 WHERE m.id >= %(lo)s AND m.id < %(hi)s AND m.status = 'active'
   AND m.source_channel <> 'import'
   AND m.created_at >= %(from)s AND m.created_at < %(before)s
   AND NOT EXISTS (SELECT 1 FROM members_order o WHERE o.member_id = m.id AND o.kind = 'sale')
 ORDER BY m.id
"""


def _new_no_purchase(spec: TriggerSpec, *, now: datetime, lo: int,
                     hi: int) -> list[TriggerEvent]:
    """Members who registered N days ago (Beijing dates; up to N + grace − 1 for a missed
    scan) and have not bought anything: occasion `once`. Bulk imports are not new members
    (as for the registration trigger)."""
    today = local_date(now)
    tz = programme_tz()
    since = datetime.combine(today - timedelta(days=spec.days + spec.grace_days - 1), time(),
                             tzinfo=tz)
    before = datetime.combine(today - timedelta(days=spec.days - 1), time(), tzinfo=tz)
    with connection.cursor() as cursor:
        cursor.execute(_NEW_NO_PURCHASE_SQL, {"today": today, "tz": settings.TIME_ZONE,
                                              "lo": lo, "hi": hi, "from": since,
                                              "before": before})
        rows = cursor.fetchall()
    return [TriggerEvent(spec.kind, member_id, "once", {"registered_at": joined, "days": days})
            for member_id, joined, days in rows]


_PAID_END_SQL = """
SELECT pm.member_id, pm.plan_id, pm.ends_at, (pm.ends_at AT TIME ZONE %(tz)s)::date AS end_date
  FROM tiers_paidmembership pm
  JOIN members_member m ON m.id = pm.member_id AND m.status = 'active'
 WHERE pm.member_id >= %(lo)s AND pm.member_id < %(hi)s
   AND pm.ends_at >= %(ends_from)s AND pm.ends_at < %(ends_before)s
 ORDER BY pm.member_id
"""


def _paid_ends(spec: TriggerSpec, *, now: datetime, lo: int, hi: int) -> list[TriggerEvent]:
    today = local_date(now)
    low = spec.days
    high = low + spec.grace_days - 1
    if low < 0:
        high = min(high, -1)  # "before the end" stops at the end
    # ends on a Beijing date from today − high to today − low: a range of ends_at
    tz = programme_tz()
    ends_from = datetime.combine(today - timedelta(days=high), time(), tzinfo=tz)
    ends_before = datetime.combine(today - timedelta(days=low - 1), time(), tzinfo=tz)
    with connection.cursor() as cursor:
        cursor.execute(_PAID_END_SQL, {"tz": settings.TIME_ZONE, "lo": lo, "hi": hi,
                                       "ends_from": ends_from, "ends_before": ends_before})
        rows = cursor.fetchall()
    return [TriggerEvent(spec.kind, member_id, f"paid:{member_id}:{end_date.isoformat()}", {
                "plan_id": plan_id, "ends_at": ends_at, "end_date": end_date,
                "days_from_end": (today - end_date).days})
            for member_id, plan_id, ends_at, end_date in rows]


_POINTS_SQL = """
SELECT DISTINCT ON (l.member_id) l.member_id, l.id, l.expires_at,
       sum(l.remaining) OVER (PARTITION BY l.member_id) AS points
  FROM points_pointslot l
  JOIN members_member m ON m.id = l.member_id AND m.status = 'active'
 WHERE l.member_id >= %(lo)s AND l.member_id < %(hi)s
   AND l.state = 'available' AND l.remaining > 0
   AND l.expires_at > %(now)s AND l.expires_at <= %(until)s
 ORDER BY l.member_id, l.expires_at, l.id
"""


def _points_expiring(spec: TriggerSpec, *, now: datetime, lo: int,
                     hi: int) -> list[TriggerEvent]:
    with connection.cursor() as cursor:
        cursor.execute(_POINTS_SQL, {"now": now, "until": now + timedelta(days=spec.days),
                                     "lo": lo, "hi": hi})
        rows = cursor.fetchall()
    return [TriggerEvent(spec.kind, member_id, f"lot:{lot_id}", {
                "lot_id": lot_id, "expires_at": expires_at, "points": int(points),
                "expires_on": local_date(expires_at)})
            for member_id, lot_id, expires_at, points in rows]
