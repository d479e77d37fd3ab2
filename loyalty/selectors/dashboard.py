"""The dashboard's figures for a date range and a store: the daily facts the nightly job
wrote (loyalty.services.dashboard), today's flows computed live with the job's own SQL, and
the programme's stocks as the last night's job found them. Reads a few hundred fact rows and
ten indexed ranges of today's rows, never the whole ledgers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from campaigns.models import Campaign, CampaignStatus
from core.clock import local_date, resolve_now
from points.models import PointsSettings
from points.models.payments import points_cash_value
from tiers.models import Tier

from ..models import Measure
from ..models.dashboard import FLOWS
from ..services.dashboard import FLOW_SQL, day_bounds


@dataclass
class Dashboard:
    start: date
    end: date
    store_id: int | None
    today: date
    stocks_day: date | None  # the night whose stocks are shown; None: no job has run yet
    # flows over the range: {measure: {key: total}}, and per day {measure: {day: total}}
    flows: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    daily: dict[str, dict[date, Decimal]] = field(default_factory=dict)
    month_flows: dict[str, Decimal] = field(default_factory=dict)  # this month so far
    stocks: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    points_per_yuan: int = 100
    running_campaigns: list[str] = field(default_factory=list)
    tier_names: dict[str, str] = field(default_factory=dict)

    def flow(self, measure: str) -> Decimal:
        return sum(self.flows.get(measure, {}).values(), Decimal(0))

    def stock(self, measure: str) -> Decimal:
        return sum(self.stocks.get(measure, {}).values(), Decimal(0))

    @staticmethod
    def ratio(part: Decimal, whole: Decimal) -> Decimal | None:
        return None if not whole else Decimal(part) / Decimal(whole)

    @property
    def new_members(self) -> Decimal:
        return self.flow(Measure.NEW_MEMBERS)

    @property
    def active_members(self) -> Decimal:
        stages = self.stocks.get(Measure.LIFECYCLE_MEMBERS, {})
        return stages.get("new", Decimal(0)) + stages.get("active", Decimal(0))

    @property
    def repurchase_rate(self) -> Decimal | None:
        return self.ratio(self.stock(Measure.REPEAT_BUYERS), self.stock(Measure.BUYERS))

    @property
    def average_order(self) -> Decimal | None:
        orders = self.flow(Measure.SALE_ORDERS)
        return None if not orders else (self.flow(Measure.NET_SALES) / orders).quantize(
            Decimal("0.01"))

    @property
    def liability_yuan(self) -> Decimal:
        return points_cash_value(int(self.stock(Measure.OUTSTANDING_POINTS)),
                                 self.points_per_yuan)

    @property
    def paid_penetration(self) -> Decimal | None:
        return self.ratio(self.stock(Measure.PAID_ACTIVE), self.stock(Measure.MEMBERS))

    @property
    def paid_renewal_rate(self) -> Decimal | None:
        return self.ratio(self.stock(Measure.PAID_RENEWED), self.stock(Measure.PAID_EVER))

    @property
    def coupon_use_rate(self) -> Decimal | None:
        return self.ratio(self.flow(Measure.COUPONS_USED), self.flow(Measure.COUPONS_ISSUED))


def _add(target: dict, measure: str, key, value) -> None:
    inner = target.setdefault(measure, defaultdict(Decimal))
    inner[key] += Decimal(value)


def _store_clause(store_id: int | None) -> tuple[str, list]:
    return ("AND store_id = %s", [store_id]) if store_id is not None else ("", [])


def _stored_flows(cursor, start: date, end: date, store_id: int | None):
    where, params = _store_clause(store_id)
    cursor.execute(f"""
        SELECT day, measure, key, sum(value) FROM loyalty_dashboardfact
        WHERE day BETWEEN %s AND %s AND measure = ANY(%s) {where}
        GROUP BY 1, 2, 3""", [start, end, [str(m) for m in FLOWS], *params])
    return cursor.fetchall()


def _live_flows(cursor, day: date, store_id: int | None):
    lo, hi = day_bounds(day)
    where = "WHERE store_id = %(store)s" if store_id is not None else ""
    rows = []
    for measure, select in FLOW_SQL.items():
        cursor.execute(f"""SELECT coalesce(key, ''), sum(value)
                           FROM ({select}) AS f (store_id, key, value) {where} GROUP BY 1""",
                       {"lo": lo, "hi": hi, "store": store_id})
        rows += [(day, str(measure), key, value) for key, value in cursor.fetchall()]
    return rows


def dashboard_figures(*, start: date, end: date, store_id: int | None = None,
                      now: datetime | None = None) -> Dashboard:
    """Figures from `start` to `end` (Beijing days, both included; the future left out),
    for one store or all. Stored days come from the facts; today, if in range, is live."""
    now = resolve_now(now)
    today = local_date(now)
    end = min(end, today)
    month_start = today.replace(day=1)
    board = Dashboard(start=start, end=end, store_id=store_id, today=today, stocks_day=None)
    with connection.cursor() as cursor:
        # stored days up to yesterday (the range's and this month's); today live, always
        # (it is in this month)
        stored = _stored_flows(cursor, min(start, month_start), today - timedelta(days=1),
                               store_id)
        live = _live_flows(cursor, today, store_id)
        for day, measure, key, value in stored + live:
            if start <= day <= end:
                _add(board.flows, measure, key, value)
                _add(board.daily, measure, day, value)
            if day >= month_start:
                board.month_flows[measure] = board.month_flows.get(measure, Decimal(0)) + value
        where, params = _store_clause(store_id)
        cursor.execute("""
            SELECT max(day) FROM loyalty_dashboardfact
            WHERE measure = %s AND day <= %s""", [str(Measure.MEMBERS), end])
        board.stocks_day = cursor.fetchone()[0]
        if board.stocks_day is not None:
            cursor.execute(f"""
                SELECT measure, key, sum(value) FROM loyalty_dashboardfact
                WHERE day = %s AND NOT (measure = ANY(%s)) {where} GROUP BY 1, 2""",
                           [board.stocks_day, [str(m) for m in FLOWS], *params])
            for measure, key, value in cursor.fetchall():
                _add(board.stocks, measure, key, value)
    board.points_per_yuan = PointsSettings.current().points_per_yuan_value
    board.running_campaigns = list(Campaign.objects.filter(
        status=CampaignStatus.RUNNING).order_by("name").values_list("name", flat=True)[:20])
    board.tier_names = dict(Tier.objects.order_by("rank").values_list("code", "name"))
    return board
