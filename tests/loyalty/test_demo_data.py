"""The demo: a year of the programme built through the services and jobs, so the ledgers
add up and the figures an operator opens first are alive; built once, found again later.

The year is built once for the module (at half the standard size) inside a transaction that
is rolled back at the end; each test runs in a savepoint within it.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from core.clock import local_date
from loyalty.demo.access import LOGINS
from loyalty.demo.build import launch_of
from members.models import Member, Order
from points.admin.liability import month_chart
from points.models import PointsLot, Reward
from points.selectors.liability import liability_report
from tiers.selectors.benefits import benefit_cost_by_tier
from tiers.selectors.paid import paid_membership_figures

SCALE = 0.5


@dataclass(frozen=True)
class Demo:
    output: str
    now: datetime
    seconds: float


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # what the data migrations put there (a transactional test's flush removes it)
            from members.defaults import ensure_default_rfm_segments
            from points.defaults import ensure_default_rules
            from tiers.defaults import ensure_default_ladder

            ensure_default_rules()
            ensure_default_ladder()
            ensure_default_rfm_segments()
            out = io.StringIO()
            started = time.perf_counter()
            call_command("demo_data", scale=SCALE, force=True, stdout=out)
            yield Demo(out.getvalue(), timezone.now(), time.perf_counter() - started)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def one(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


# --- the ledgers add up -------------------------------------------------------------------------

@pytest.mark.django_db
def test_balances_are_the_sums_of_their_entries(demo):
    accounts, wrong = one("""
        SELECT count(*), count(*) FILTER (WHERE a.available <> e.available
                                          OR a.pending <> e.pending OR a.held <> e.held
                                          OR a.debt <> e.debt)
        FROM points_pointsaccount a
        JOIN (SELECT member_id, sum(available_delta) AS available, sum(pending_delta) AS pending,
                     sum(held_delta) AS held, sum(debt_delta) AS debt
              FROM points_pointsentry GROUP BY member_id) e USING (member_id)""")
    assert accounts > 20 and wrong == 0
    orphans = one("""SELECT count(DISTINCT member_id) FROM points_pointsentry e WHERE NOT EXISTS
                     (SELECT 1 FROM points_pointsaccount a WHERE a.member_id = e.member_id)""")
    assert orphans == (0,)
    growth = one("""
        SELECT count(*) FILTER (WHERE a.growth <> coalesce(e.delta, 0))
        FROM tiers_growthaccount a
        LEFT JOIN (SELECT member_id, sum(delta) AS delta FROM tiers_growthentry
                   GROUP BY member_id) e USING (member_id)""")
    assert growth == (0,)


@pytest.mark.django_db
def test_lots_back_the_balances(demo):
    wrong = one("""
        SELECT count(*) FROM points_pointsaccount a
        LEFT JOIN (SELECT member_id,
                          sum(remaining) FILTER (WHERE state = 'available') AS available,
                          sum(remaining) FILTER (WHERE state = 'pending') AS pending
                   FROM points_pointslot GROUP BY member_id) l USING (member_id)
        WHERE a.available <> coalesce(l.available, 0) OR a.pending <> coalesce(l.pending, 0)""")
    assert wrong == (0,)


@pytest.mark.django_db
def test_reward_stock_is_what_was_not_redeemed(demo):
    assert not Reward.objects.filter(stock__lt=0).exists()
    tote = Reward.objects.get(name="帆布托特包")
    kept = one("""SELECT coalesce(sum(quantity), 0) FROM points_rewardredemption
                  WHERE reward_id = %s AND state <> 'cancelled'""", [tote.pk])[0]
    assert kept > 0 and tote.stock + kept == 50


@pytest.mark.django_db
def test_the_liability_report_is_the_ledger(demo):
    report = liability_report()
    outstanding, debt = one("SELECT sum(available + pending + held), sum(debt) "
                            "FROM points_pointsaccount")
    assert (report.outstanding, report.debt) == (outstanding, debt)
    by_kind = dict(((kind, net) for kind, net in _net_by_kind()))
    assert report.issued == by_kind.get("earn", 0)
    assert report.redeemed == -(by_kind.get("spend", 0) + by_kind.get("capture", 0)
                                + by_kind.get("refund", 0))
    assert report.expired == -by_kind["expire"]
    assert report.reversed == -by_kind["reverse"]
    assert (report.outstanding - report.debt == report.issued - report.redeemed - report.expired
            - report.reversed + report.adjusted)
    assert one("SELECT last_entry_id FROM points_pointsrollupcursor")[0] > 0  # the rollup ran


def _net_by_kind():
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, sum(available_delta + pending_delta + held_delta "
                       "- debt_delta) FROM points_pointsentry GROUP BY kind")
        return cursor.fetchall()


# --- the jobs have run ----------------------------------------------------------------------

@pytest.mark.django_db
def test_no_old_purchase_points_are_still_pending(demo):
    assert not PointsLot.objects.filter(state="pending",
                                        created_at__lt=demo.now - timedelta(days=8)).exists()
    kinds = dict(_net_by_kind())
    assert {"unlock", "expire", "spend", "capture", "reverse", "refund"} <= set(kinds)


@pytest.mark.django_db
def test_the_year_shows_every_job_having_run(demo):
    def count(sql):
        return one(sql)[0]

    assert count("SELECT count(*) FROM tiers_benefitgrant WHERE status = 'expired'") > 0
    assert count("SELECT count(*) FROM tiers_benefituse") > 0
    assert count("SELECT count(*) FROM points_coupon WHERE state = 'redeemed'") > 0
    assert count("SELECT count(*) FROM points_coupon WHERE state = 'expired'") > 0
    assert count("SELECT count(*) FROM tiers_paidpurchase WHERE kind = 'renewal'") > 0
    assert count("SELECT count(*) FROM tiers_paidmembership WHERE status = 'lapsed'") > 0
    assert count("SELECT count(*) FROM tiers_growthentry WHERE kind = 'decay'") > 0
    assert count("SELECT count(*) FROM tiers_tierchange WHERE reason = 'upgrade'") > 0
    # Silver reached in the first week by one sale, reset to 0 a year later: re-evaluated
    assert count("SELECT count(*) FROM tiers_tierchange WHERE reason = 'downgrade'") > 0
    assert count("SELECT count(*) FROM tiers_growthaccount WHERE tier_id IS NULL") == 0
    assert count("SELECT count(*) FROM members_memberstats WHERE rfm_segment <> ''") > 0
    assert count("SELECT count(*) FROM members_membertag mt JOIN members_tag t "
                 "ON t.id = mt.tag_id WHERE t.code = 'big-spender'") > 0


# --- what an operator opens first is alive --------------------------------------------------

def _months(demo: Demo):
    month = launch_of(demo.now).date().replace(day=1)
    while month <= local_date(demo.now):
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


@pytest.mark.django_db
def test_cost_per_tier_is_not_empty(demo):
    rows = [row for month in _months(demo) for row in benefit_cost_by_tier(month=month)]
    assert sum(r.extra_points for r in rows) > 0
    assert sum(r.grants_cost for r in rows) > 0
    assert sum(r.coupons_cost for r in rows) > 0
    assert {r.name for r in rows if r.source == "plan" and r.total > 0}
    # the page opens on the current month
    assert sum(r.total for r in benefit_cost_by_tier(month=local_date(demo.now))) > 0


@pytest.mark.django_db
def test_paid_membership_figures_are_not_empty(demo):
    figures = paid_membership_figures(start=launch_of(demo.now), end=demo.now, now=demo.now)
    assert figures.paid_members > 0 and figures.penetration > 0
    assert figures.conversions > 0 and figures.periods_due > 0 and figures.periods_renewed > 0
    assert figures.spend_per_paid_member and figures.spend_per_paid_member > 0


@pytest.mark.django_db
def test_the_liability_chart_has_bars(demo):
    chart = month_chart(liability_report().months)
    heights = {bar["label"]: 0 for group in chart["groups"] for bar in group["bars"]}
    for group in chart["groups"]:
        for bar in group["bars"]:
            heights[bar["label"]] += bar["height"]
    assert len(chart["groups"]) == 12 and all(heights.values()), heights


# --- run again ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_build_reports_each_step_and_a_second_run_adds_nothing(demo):
    assert "Loading demo data:" in demo.output
    assert "customers and 3 years of purchases (COPY)" in demo.output
    assert "sales" in demo.output and " s\n" in demo.output
    members, orders = Member.objects.count(), Order.objects.count()
    out = io.StringIO()
    started = time.perf_counter()
    call_command("demo_data", force=True, stdout=out)
    assert time.perf_counter() - started < 5
    assert "Demo data already loaded." in out.getvalue()
    assert (Member.objects.count(), Order.objects.count()) == (members, orders)
    for login in LOGINS:
        assert login.username in out.getvalue() and login.password in out.getvalue()


@pytest.mark.django_db
def test_the_clerk_is_bound_to_two_stores_and_the_key_belongs_to_the_programme_admin(demo):
    from loyalty.models import ApiKey
    from members.models import StoreStaff

    stores = list(StoreStaff.objects.filter(user__username="clerk")
                  .values_list("store__code", flat=True))
    assert len(stores) == 2
    assert f"({', '.join(sorted(stores))})" in demo.output
    assert ApiKey.objects.get(name="demo storefront").owner.username == "progadmin"


@pytest.mark.django_db
def test_the_demo_refuses_to_run_with_debug_off_unless_forced(settings):
    from django.core.management import CommandError

    settings.DEBUG = False
    members = Member.objects.count()
    with pytest.raises(CommandError, match="--force"):
        call_command("demo_data", stdout=io.StringIO())
    assert Member.objects.count() == members


# --- the dashboard is the ledgers ------------------------------------------------------------

@pytest.mark.django_db
def test_the_dashboard_figures_are_independent_tallies(demo):
    """The home page's figures over the demo's year (stored nights plus today live) against
    sums written here over the ledgers, the orders and the members, day by Beijing day."""
    from loyalty.models import Measure
    from loyalty.selectors.dashboard import dashboard_figures

    today = local_date(demo.now)
    start = today - timedelta(days=120)
    board = dashboard_figures(start=start, end=today, now=demo.now)
    in_range = "(created_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN %s AND %s"
    issued, redeemed, expired = one(f"""
        SELECT sum(available_delta + pending_delta) FILTER (WHERE kind = 'earn'
                   OR (kind = 'adjust' AND available_delta > 0)),
               -sum(available_delta + held_delta) FILTER (WHERE kind IN ('spend', 'capture')),
               -sum(available_delta + pending_delta) FILTER (WHERE kind = 'expire')
        FROM points_pointsentry WHERE {in_range}""", [start, today])
    assert issued > 0 and redeemed > 0
    assert (board.flow(Measure.POINTS_ISSUED), board.flow(Measure.POINTS_REDEEMED),
            board.flow(Measure.POINTS_EXPIRED)) == (issued, redeemed, expired or 0)
    sales, net = one("""
        SELECT count(*) FILTER (WHERE kind = 'sale'),
               sum(CASE kind WHEN 'sale' THEN net_amount ELSE -net_amount END)
        FROM members_order
        WHERE (ordered_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN %s AND %s""",
                     [start, today])
    assert (board.flow(Measure.SALE_ORDERS), board.flow(Measure.NET_SALES)) == (sales, net)
    joined = one(f"SELECT count(*) FROM members_member WHERE {in_range}", [start, today])[0]
    assert board.new_members == joined > 0
    # stocks: the tier counts as they stand (the last night's job ran at the demo's `now`)
    with connection.cursor() as cursor:
        cursor.execute("""SELECT t.code, count(*) FROM tiers_growthaccount g
                          JOIN tiers_tier t ON t.id = g.tier_id
                          JOIN members_member m ON m.id = g.member_id
                          WHERE m.status <> 'closed' GROUP BY 1""")
        tiers = dict(cursor.fetchall())
    assert {k: int(v) for k, v in board.stocks[Measure.TIER_MEMBERS].items()} == tiers
    outstanding = one("SELECT sum(available + pending) FROM points_pointsaccount")[0]
    assert board.stock(Measure.OUTSTANDING_POINTS) == outstanding
    # one store: the same tallies where the sale was booked
    store_id = one("SELECT store_id FROM members_order GROUP BY 1 ORDER BY count(*) DESC")[0]
    shop = dashboard_figures(start=start, end=today, store_id=store_id, now=demo.now)
    store_net = one("""
        SELECT sum(CASE kind WHEN 'sale' THEN net_amount ELSE -net_amount END)
        FROM members_order WHERE store_id = %s
          AND (ordered_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN %s AND %s""",
                    [store_id, start, today])[0]
    assert shop.flow(Measure.NET_SALES) == store_net
