#!/usr/bin/env python
"""Times the dashboard (the console's home page) at scale: the nightly facts job and the
page's figures for 30 days and a year, for all stores and for one.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench_dashboard \
        .venv/bin/python bench/dashboard.py [--members 1000000] [--orders-per-member 5]

Migrates the database, seeds --members members with their orders (`seed_members`, COPY) if
it has fewer, places them on the ladder, then builds the facts of every day the orders span
(the nightly job, one day at a time; the last day also writes the stocks) and times:

1. one night of the job (the day just ended, stocks included);
2. `dashboard_figures` for the last 30 days and the last 365 days, all stores and one store
   (each the median of 5 runs, after one warm-up);
3. the whole home page (`GET /admin/` as a superuser), rendering included.

The target is < 300 ms for the page at 1M members / 5M orders. It checks the figures against
plain sums over the orders. Informational, not part of the test suite; use a database of its
own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

if not os.environ.get("DATABASE_URL"):
    sys.exit("DATABASE_URL is required (a database of its own)")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.clock import local_date  # noqa: E402
from loyalty.models import Measure  # noqa: E402
from loyalty.selectors.dashboard import dashboard_figures  # noqa: E402
from loyalty.services.dashboard import dashboard_facts_build, day_bounds  # noqa: E402
from tiers.services.ladder import tier_place_unplaced  # noqa: E402


def timed(label: str, fn, runs: int = 1):
    if runs > 1:
        fn()  # warm-up
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    print(f"{label:<58} {statistics.median(times) * 1000:9.1f} ms"
          + (f" (median of {runs})" if runs > 1 else ""))
    return result


def one(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--orders-per-member", type=float, default=5.0)
    args = parser.parse_args()

    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], check=True)
    have = one("SELECT count(*) FROM members_member")[0]
    if have < args.members:
        started = time.perf_counter()
        subprocess.run([*manage, "seed_members", "--members", str(args.members - have),
                        "--orders-per-member", str(args.orders_per_member),
                        "--until", str(local_date(timezone.now()))], check=True)
        print(f"seeded {args.members - have:,} members in {time.perf_counter() - started:.0f} s")
        # placed when they came in (the seed's first order), as an import places them: a
        # million tier changes dated today would be a day no real programme has
        first_order = one("SELECT min(ordered_at) FROM members_order")[0] or timezone.now()
        timed("members placed on the ladder", lambda: tier_place_unplaced(now=first_order))
    now = timezone.now()
    today = local_date(now)
    members, orders = one("SELECT (SELECT count(*) FROM members_member), "
                          "(SELECT count(*) FROM members_order)")
    print(f"members {members:,}, orders {orders:,}")
    first = one("SELECT min(ordered_at) FROM members_order")[0]
    day, built = max(local_date(first), today - timedelta(days=400)), time.perf_counter()
    while day < today - timedelta(days=1):
        dashboard_facts_build(day=day, now=now)
        day += timedelta(days=1)
    print(f"facts of the earlier days built in {time.perf_counter() - built:.0f} s")
    timed("nightly job: yesterday, stocks included", lambda: dashboard_facts_build(now=now))
    print(f"fact rows: {one('SELECT count(*) FROM loyalty_dashboardfact')[0]:,}")
    store_id = one("SELECT store_id FROM members_order GROUP BY 1 ORDER BY count(*) DESC")[0]
    for days in (30, 365):
        start = today - timedelta(days=days - 1)
        board = timed(f"figures, {days} days, all stores",
                      lambda: dashboard_figures(start=start, end=today, now=now), runs=5)
        net = one("""SELECT coalesce(sum(CASE kind WHEN 'sale' THEN net_amount
                                          ELSE -net_amount END), 0) FROM members_order
                     WHERE ordered_at >= %s""", [day_bounds(start)[0]])[0]
        assert board.flow(Measure.NET_SALES) == net, (board.flow(Measure.NET_SALES), net)
        timed(f"figures, {days} days, one store",
              lambda: dashboard_figures(start=start, end=today, store_id=store_id, now=now),
              runs=5)
    user, _ = User.objects.get_or_create(username="bench-dashboard", defaults={
        "is_staff": True, "is_superuser": True})
    settings.ALLOWED_HOSTS = ["testserver"]  # the test client's host name
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    page = timed("home page, 30 days (GET /admin/, rendered)",
                 lambda: client.get("/admin/", secure=True), runs=5)
    assert page.status_code == 200, page.status_code
    timed("home page, 365 days", lambda: client.get(
        "/admin/", {"start": (today - timedelta(days=364)).isoformat()}, secure=True), runs=5)


if __name__ == "__main__":
    main()
