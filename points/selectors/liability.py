"""The liability report: what the programme owes in points, what it is worth, and what was
issued, redeemed, expired and reversed each month (Beijing months).

Every figure is a sum over the ledger. In an entry's net points (available + pending +
held − debt):
- issued    = Σ net of earnings (partner exchanges in included);
- redeemed  = −Σ net of spends and hold captures, less refunds of cancelled redemptions;
- expired   = −Σ net of expiries;
- reversed  = −Σ net of reversals for returns;
- adjusted  = Σ net of operators' adjustments;
holds, releases and unlocks move points between balances and net to zero. Outstanding
points are Σ (available + pending + held) — what members hold; their cash value is at
`PointsSettings.points_per_yuan_value`; debt is what reversals left owing. So
outstanding − debt = issued − redeemed − expired − reversed + adjusted, to the point.
Breakage rate = expired ÷ issued over the programme's life.

Scale (100M entries): the report never scans the ledger. `points_liability_rollup` (hourly)
adds the entries after a cursor to `PointsMonthTotal` (month × kind sums) in id-range
chunks over the primary key, and the report reads those rows plus the live sum of the
entries after the cursor — about an hour's worth, a range scan of the primary key — while
holding the cursor row FOR SHARE, so no rollup lands in between. The cursor only moves to a
watermark taken under a brief SHARE lock on the ledger table (it waits for in-flight
inserts to commit; new inserts wait meanwhile), so an entry whose id is below the cursor
can never commit later and be missed. bench/liability_report.py measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings as django_settings
from django.db import connection, transaction

from ..models import EntryKind, PointsSettings

# transfers move points between members: over the programme they add up to nothing
ISSUED = (EntryKind.EARN,)
REDEEMED = (EntryKind.SPEND, EntryKind.CAPTURE, EntryKind.REFUND, EntryKind.CANCEL)
EXPIRED = (EntryKind.EXPIRE,)
REVERSED = (EntryKind.REVERSE,)
ADJUSTED = (EntryKind.ADJUST,)


@dataclass
class MonthFigures:
    month: date
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    reversed: int = 0
    adjusted: int = 0


@dataclass
class LiabilityReport:
    outstanding: int            # available + pending + held, all members
    debt: int
    cash_value: Decimal         # outstanding at the programme's rate, CNY
    points_per_yuan: int
    issued: int
    redeemed: int
    expired: int
    reversed: int
    adjusted: int
    breakage_rate: Decimal | None   # expired ÷ issued; None before anything was issued
    months: list[MonthFigures]      # oldest first

_REPORT_SQL = """
SELECT month, kind, SUM(available), SUM(pending), SUM(held), SUM(debt)
FROM (
    SELECT month, kind, available, pending, held, debt FROM points_pointsmonthtotal
    UNION ALL
    SELECT date_trunc('month', e.created_at AT TIME ZONE %(tz)s)::date, e.kind,
           e.available_delta, e.pending_delta, e.held_delta, e.debt_delta
    FROM points_pointsentry e WHERE e.id > %(after)s
) totals
GROUP BY month, kind ORDER BY month, kind
"""


def liability_report() -> LiabilityReport:
    """The figures as of now. The cursor row is read FOR SHARE, so no rollup commits between
    reading it and summing: the totals and the live tail never overlap."""
    rate = PointsSettings.current().points_per_yuan_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT last_entry_id FROM points_pointsrollupcursor FOR SHARE")
        row = cursor.fetchone()
        cursor.execute(_REPORT_SQL, {"tz": django_settings.TIME_ZONE,
                                     "after": row[0] if row else 0})
        rows = cursor.fetchall()
    months: dict[date, MonthFigures] = {}
    outstanding = debt = 0
    for month, kind, *sums in rows:
        available, pending, held, owed = (int(x) for x in sums)  # SUM(bigint) is numeric
        outstanding += available + pending + held
        debt += owed
        net = available + pending + held - owed
        figures = months.setdefault(month, MonthFigures(month=month))
        if kind in ISSUED:
            figures.issued += net
        elif kind in REDEEMED:
            figures.redeemed -= net
        elif kind in EXPIRED:
            figures.expired -= net
        elif kind in REVERSED:
            figures.reversed -= net
        elif kind in ADJUSTED:
            figures.adjusted += net
    ordered = [months[m] for m in sorted(months)]
    issued = sum(m.issued for m in ordered)
    expired = sum(m.expired for m in ordered)
    cash = (Decimal(outstanding) / Decimal(rate or 1)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return LiabilityReport(
        outstanding=outstanding, debt=debt, cash_value=cash, points_per_yuan=rate,
        issued=issued, redeemed=sum(m.redeemed for m in ordered), expired=expired,
        reversed=sum(m.reversed for m in ordered), adjusted=sum(m.adjusted for m in ordered),
        breakage_rate=(Decimal(expired) / Decimal(issued)).quantize(Decimal("0.0001"))
        if issued else None,
        months=ordered)
