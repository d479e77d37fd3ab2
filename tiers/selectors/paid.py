"""Reads of paid membership: how it performs (a fixed handful of aggregate queries, whatever
the member count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from core.clock import resolve_now
from core.money import CENT
from members.models import Member

from ..models import TierSettings
from ..models.paid import PaidMembership


@dataclass(frozen=True)
class PaidFigures:
    active_members: int
    paid_members: int  # paid until a time after `now`
    penetration: Decimal | None  # paid / active members
    not_paid_at_start: int
    conversions: int  # bought in the window while not paid (first purchase or returning)
    conversion_rate: Decimal | None
    periods_due: int  # paid periods that ended in the window
    periods_renewed: int  # … followed by another purchase before the grace days ran out
    renewal_rate: Decimal | None
    spend_per_paid_member: Decimal | None  # sales net paid in the window per member
    spend_per_other_member: Decimal | None


def _ratio(part: int | Decimal, whole: int) -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal("0.0001")) if whole else None


_WINDOW_SQL = """
SELECT
  (SELECT count(DISTINCT member_id) FROM tiers_paidpurchase
   WHERE period_start <= %(start)s AND period_end > %(start)s),
  (SELECT count(*) FROM tiers_paidpurchase
   WHERE kind IN ('new', 'returning') AND created_at >= %(start)s AND created_at < %(end)s),
  (SELECT count(*) FROM tiers_paidpurchase p
   WHERE p.period_end >= %(start)s AND p.period_end < %(due_end)s),
  (SELECT count(*) FROM tiers_paidpurchase p
   WHERE p.period_end >= %(start)s AND p.period_end < %(due_end)s
     AND EXISTS (SELECT 1 FROM tiers_paidpurchase q
                 WHERE q.member_id = p.member_id AND q.id > p.id
                   AND q.created_at < p.period_end + make_interval(days => %(grace)s))),
  (SELECT count(DISTINCT member_id) FROM tiers_paidpurchase
   WHERE period_start < %(end)s AND period_end > %(start)s)
"""

# The paid members' spend goes through the (member, ordered_at) index, member by member; the
# window's total is one range scan of the orders.
_SPEND_SQL = """
WITH paid AS (
    SELECT DISTINCT member_id FROM tiers_paidpurchase
    WHERE period_start < %(end)s AND period_end > %(start)s
)
SELECT
  (SELECT COALESCE(sum(o.net_amount), 0) FROM members_order o
   WHERE o.kind = 'sale' AND o.ordered_at >= %(start)s AND o.ordered_at < %(end)s),
  (SELECT COALESCE(sum(o.net_amount), 0) FROM paid
   JOIN members_order o ON o.member_id = paid.member_id
   WHERE o.kind = 'sale' AND o.ordered_at >= %(start)s AND o.ordered_at < %(end)s)
"""


def paid_membership_figures(*, start: datetime, end: datetime,
                            now: datetime | None = None) -> PaidFigures:
    """Paid membership over a window [start, end):
    - penetration: members paid now ÷ active members;
    - conversion: members who bought in the window while not paid (first purchase or
      after lapsing) ÷ active members not paid when it began;
    - renewal rate: paid periods that ended in the window (up to now) and were followed by
      another purchase within the decay grace days ÷ all of them;
    - spend: sales net paid in the window per member, for members paid at some time in
      the window against the other active members."""
    now = resolve_now(now)
    active = Member.objects.filter(status=Member.Status.ACTIVE).count()
    paid_now = PaidMembership.objects.filter(ends_at__gt=now).count()
    settings = TierSettings.objects.filter(singleton=True).first() or TierSettings()
    params = {"start": start, "end": end, "due_end": min(end, now),
              "grace": settings.decay_grace_days}
    with connection.cursor() as cursor:
        cursor.execute(_WINDOW_SQL, params)
        paid_at_start, conversions, due, renewed, paid_in_window = cursor.fetchone()
        cursor.execute(_SPEND_SQL, params)
        spend_all, spend_paid = cursor.fetchone()
    not_paid = max(0, active - paid_at_start)
    others = max(0, active - paid_in_window)
    return PaidFigures(
        active_members=active, paid_members=paid_now, penetration=_ratio(paid_now, active),
        not_paid_at_start=not_paid, conversions=conversions,
        conversion_rate=_ratio(conversions, not_paid), periods_due=due,
        periods_renewed=renewed, renewal_rate=_ratio(renewed, due),
        spend_per_paid_member=(Decimal(spend_paid) / paid_in_window).quantize(CENT)
        if paid_in_window else None,
        spend_per_other_member=(Decimal(spend_all - spend_paid) / others).quantize(CENT)
        if others else None)
