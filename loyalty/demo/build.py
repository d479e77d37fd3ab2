"""Building the demo programme, step by step, with a line per step (what, how many, how
long). Everything runs in one transaction: a build that fails or is stopped leaves the
database as it was, and the next run starts again."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal

from django.core.management import call_command
from django.db import connection, transaction

from core.clock import local_date, programme_tz
from members.models import Member, Order, Segment, Tag, TagCondition, TagRule
from members.services.nightly import insights_rebuild
from points.models import PointsEntry
from points.services.liability import points_liability_rollup
from tiers.services.ladder import tier_place_unplaced

from ..services.dashboard import dashboard_facts_backfill
from .catalog import demo_catalog, demo_points_settings
from .year import Year

YEAR_DAYS = 390          # a year and a few weeks: the first Silvers come up for re-evaluation
IMPORTED_MEMBERS = 400   # customers imported with their purchase history before the launch
FIRST_ORDER_NO = "DEMO000001"  # the demo's first sale: its presence means "loaded"


def demo_loaded() -> bool:
    return (Order.objects.filter(order_no=FIRST_ORDER_NO).exists()
            or Member.objects.filter(external_id__startswith="demo-").exists())


class Steps:
    def __init__(self, report: Callable[[str], None]):
        self.report = report
        self.started = time.perf_counter()

    def run(self, name: str, step: Callable[[], str]) -> None:
        started = time.perf_counter()
        detail = step()
        self.report(f"  {name:<46} {detail:<42} {time.perf_counter() - started:5.1f} s")

    def done(self) -> float:
        return time.perf_counter() - self.started


@contextmanager
def _statements_unrecorded() -> Iterator[None]:
    """Under DEBUG every statement's SQL is formatted and kept for `connection.queries`; the
    build sends some 50,000 and that bookkeeping is a fifth of its time."""
    connection.make_debug_cursor = connection.make_cursor
    try:
        yield
    finally:
        del connection.make_debug_cursor  # the class's method again


def launch_of(now: datetime) -> datetime:
    """The programme's launch: Beijing midnight YEAR_DAYS days ago."""
    day = local_date(now) - timedelta(days=YEAR_DAYS)
    return datetime.combine(day, clock_time.min, tzinfo=programme_tz())


def demo_build(*, now: datetime, scale: float = 1.0,
               report: Callable[[str], None] = print) -> float:
    """Load the demo into an empty database; returns the seconds it took."""
    start = launch_of(now)
    steps = Steps(report)
    with _statements_unrecorded(), transaction.atomic():
        steps.run("customers and 3 years of purchases (COPY)", lambda: _imported(start, scale))
        steps.run("imported members placed on the ladder",
                  lambda: f"{tier_place_unplaced(now=start):,} members")
        steps.run("catalog: coupons, rewards, benefits, plans", lambda: _catalog(start))
        until = now.astimezone(programme_tz())
        report(f"  the programme's year, {start:%Y-%m-%d} to {until:%Y-%m-%d} "
               f"(intake, services, nightly jobs):")
        steps.run("the year", lambda: _year(start, now, scale, report))
        steps.run("rule tag, segment, statistics, RFM, rule tags", lambda: _insights(now))
        steps.run("liability rollup", lambda: f"{points_liability_rollup(now=now):,} entry ids")
        steps.run("dashboard facts, day by day", lambda: _dashboard(start, now))
    return steps.done()


def _imported(start: datetime, scale: float) -> str:
    """Stores, members, their orders, tags and activity up to the launch, with COPY."""
    members = max(50, round(IMPORTED_MEMBERS * scale))
    call_command("seed_members", members=members, orders_per_member=3.0, stores=6, tags=12,
                 seed=2026, until=(start - timedelta(days=1)).date(), stdout=io.StringIO())
    return f"{members:,} members, {Order.objects.count():,} orders"


def _catalog(start: datetime) -> str:
    demo_catalog(start)
    demo_points_settings()
    return "points expire after 6 months"


def _year(start: datetime, now: datetime, scale: float, report) -> str:
    total = Year(start=start, now=now, scale=scale, report=report).run()
    refused = f", {total['refused']} refused" if total["refused"] else ""
    return f"{total['sales']:,} sales, {PointsEntry.objects.count():,} ledger entries{refused}"


def _dashboard(start: datetime, now: datetime) -> str:
    """The nightly dashboard job over every day of the year (the last night's stocks)."""
    rows = dashboard_facts_backfill(start=local_date(start) - timedelta(days=1),
                                    end=local_date(now) - timedelta(days=1), now=now)
    return f"{rows:,} facts"


def _insights(now: datetime) -> str:
    """A rule tag (net spend of ¥1,000 or more), a segment over it, and the nightly rebuild
    of statistics, lifecycle, RFM, preference and rule tags."""
    big, _ = Tag.objects.get_or_create(code="big-spender", defaults={
        "name": "高消费", "kind": Tag.Kind.RULE})
    rule, created = TagRule.objects.get_or_create(tag=big)
    if created:
        TagCondition.objects.create(rule=rule, kind=TagCondition.Kind.STATISTIC,
                                    statistic="net_spend", minimum=Decimal("1000"))
    Segment.objects.get_or_create(code="women-big-spenders", defaults={
        "name": "高消费女性会员", "expression": "tag:big-spender and gender:female"})
    timings = insights_rebuild(now=now)
    return f"{len(timings)} steps"
