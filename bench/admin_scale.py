#!/usr/bin/env python
"""Times the admin lists, searches and change pages on the current database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench \
        .venv/bin/python bench/admin_scale.py [--runs 5] [--explain-over 300]

Meant for a database filled by `manage.py seed_members` (1M members, 5M orders). Logs in as
the superuser `bench` (created if missing) with Django's test client, requests each page
once to warm up and then --runs times, and prints per page the first and the min / median /
max wall time, the SQL statements and their time (last run) and the rows listed. Every
COUNT(*) that is not bounded by a LIMIT subquery is flagged: on millions of rows it reads
the whole table. With --explain-over MS, the slowest statement of every page whose median
is over MS milliseconds is shown with EXPLAIN (ANALYZE, BUFFERS).

Informational, not part of the test suite; it reads and writes nothing but a session and
the `bench` user.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A COUNT over a LIMIT subquery reads at most that many rows: Django writes
# `SELECT COUNT(*) FROM (SELECT ... LIMIT n) subquery` for queryset[:n].count().
BOUNDED_COUNT = re.compile(r"COUNT\(\*\).*\bFROM\s*\(.*\bLIMIT\s+\d+\s*\)\s*\w*\s*$",
                           re.IGNORECASE | re.DOTALL)
COUNT = re.compile(r"\bCOUNT\(\*\)", re.IGNORECASE)


@dataclass
class Page:
    label: str
    url: str
    times_ms: list[float] = field(default_factory=list)
    first_ms: float = 0.0
    queries: list[dict] = field(default_factory=list)  # of the last run
    rows: str = ""
    status: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def sql_ms(self) -> float:
        return sum(float(q["time"]) for q in self.queries) * 1000

    def unbounded_counts(self) -> list[dict]:
        return [q for q in self.queries
                if COUNT.search(q["sql"]) and not BOUNDED_COUNT.search(q["sql"])]

    def slowest(self) -> dict | None:
        return max(self.queries, key=lambda q: float(q["time"]), default=None)


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to the PostgreSQL database to measure "
                 "(e.g. one filled by manage.py seed_members).")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    import django
    from django.test.utils import setup_test_environment

    django.setup()
    # Allows the test client's host and records template contexts (for the row counts).
    setup_test_environment()


def samples() -> dict[str, str]:
    """Real values to search for, taken from the middle of the tables (stable across runs
    of the benchmark on the same data)."""
    from django.db.models import Max

    from members.models import Member, MemberActivity, Order

    top = Member.objects.aggregate(top=Max("pk"))["top"]
    if top is None:
        sys.exit("No members: run manage.py seed_members first.")
    member = (Member.objects.filter(pk__gte=top // 2, mobile__startswith="+86")
              .exclude(status=Member.Status.CLOSED).order_by("pk").first())
    if member is None:
        sys.exit("No member with a mainland mobile number.")
    order_top = Order.objects.aggregate(top=Max("pk"))["top"] or 0
    order = Order.objects.filter(pk__gte=order_top // 2).order_by("pk").first()
    activity_top = MemberActivity.objects.aggregate(top=Max("pk"))["top"] or 0
    activity = MemberActivity.objects.filter(pk__gte=activity_top // 2).order_by("pk").first()
    return {
        "member_id": str(member.pk), "mobile": member.mobile[3:], "last4": member.mobile[-4:],
        "member_no": member.member_no, "surname": "王",
        "order_no": order.order_no if order else "", "order_id": str(order.pk) if order else "",
        "source_key": activity.source_key if activity else "",
    }


def pages(s: dict[str, str]) -> list[Page]:
    members, orders = "/admin/members/member/", "/admin/members/order/"
    result = [
        Page("member list", members),
        Page(f"member search: mobile {s['mobile']}", f"{members}?q={s['mobile']}"),
        Page(f"member search: last four {s['last4']}", f"{members}?q={s['last4']}"),
        Page(f"member search: member no {s['member_no']}", f"{members}?q={s['member_no']}"),
        Page(f"member search: name {s['surname']}…", f"{members}?q={s['surname']}"),
        Page("member list: status=active", f"{members}?status__exact=active"),
        Page("order list", orders),
    ]
    if s["order_no"]:
        result.append(Page(f"order search: {s['order_no']}", f"{orders}?q={s['order_no']}"))
    result += [
        Page(f"member change page #{s['member_id']}", f"{members}{s['member_id']}/change/"),
        Page("order list: one member's orders", f"{orders}?member__id__exact={s['member_id']}"),
    ]
    if s["order_id"]:
        result.append(Page(f"order change page #{s['order_id']}", f"{orders}{s['order_id']}/change/"))
    # the other searches the admin offers on the big tables
    result.append(Page(f"order search: member mobile {s['mobile']}", f"{orders}?q={s['mobile']}"))
    if s["source_key"]:
        activity = "/admin/members/memberactivity/"
        result.append(Page(f"activity search: {s['source_key']}", f"{activity}?q={s['source_key']}"))
    return result


def login():
    from django.contrib.auth import get_user_model
    from django.test import Client

    User = get_user_model()
    user = User.objects.filter(username="bench").first()
    if user is None:
        user = User(username="bench", is_staff=True, is_superuser=True)
        user.set_unusable_password()  # force_login only
        user.save()
    client = Client()
    client.force_login(user)
    return client


def rows_listed(response) -> str:
    """"shown of counted" for a changelist (the count may be the planner's estimate)."""
    context = response.context
    cl = context.get("cl") if context is not None else None
    if cl is None:
        return "-"
    return f"{len(cl.result_list)} of {cl.result_count:,}"


def measure(client, page: Page, runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for run in range(runs + 1):  # the first is the warm-up
        with CaptureQueriesContext(connection) as captured:
            clock = time.perf_counter()
            response = client.get(page.url)
            elapsed = (time.perf_counter() - clock) * 1000
        page.status = response.status_code
        if response.status_code != 200:
            page.rows = f"HTTP {response.status_code}"
            page.first_ms = elapsed
            page.times_ms = [elapsed]
            page.queries = list(captured.captured_queries)
            return
        if run == 0:
            page.first_ms = elapsed
            page.rows = rows_listed(response)
        else:
            page.times_ms.append(elapsed)
        page.queries = list(captured.captured_queries)


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def table_sizes() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT relname, reltuples::bigint FROM pg_class
            WHERE relname IN ('members_member', 'members_order', 'members_orderline',
                              'members_memberactivity', 'members_membertag')
            ORDER BY relname""")
        return ", ".join(f"{name} ~{count:,}" for name, count in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per page (after a warm-up)")
    parser.add_argument("--explain-over", type=float, default=None, metavar="MS",
                        help="EXPLAIN ANALYZE the slowest statement of pages slower than MS")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of every page")
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    print(f"database {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}: "
          f"{table_sizes()}")
    client = login()
    measured = pages(samples())
    for page in measured:
        measure(client, page, args.runs)

    width = max(len(p.label) for p in measured)
    print()
    print(f"{'page':<{width}}  {'first':>8} {'min':>8} {'median':>8} {'max':>8}  "
          f"{'queries':>7} {'sql ms':>7}  rows")
    for p in measured:
        print(f"{p.label:<{width}}  {p.first_ms:8.1f} {min(p.times_ms):8.1f} {p.median:8.1f} "
              f"{max(p.times_ms):8.1f}  {len(p.queries):>7} {p.sql_ms:7.1f}  {p.rows}")
    print("(milliseconds, wall clock in-process; queries and sql ms from the last run)")

    flagged = [(p, q) for p in measured for q in p.unbounded_counts()]
    print()
    if flagged:
        print("COUNT(*) not bounded by a LIMIT subquery:")
        for p, q in flagged:
            print(f"  [{p.label}] {float(q['time']) * 1000:.1f} ms: {q['sql'][:300]}")
    else:
        print("No COUNT(*) without a LIMIT subquery.")

    print()
    print("slowest statement per page (last run):")
    for p in measured:
        q = p.slowest()
        if q is not None:
            print(f"  [{p.label}] {float(q['time']) * 1000:.1f} ms: {q['sql'][:200]}")
    if args.show_sql:
        for p in measured:
            print(f"\n-- {p.label}")
            for q in p.queries:
                print(f"{float(q['time']) * 1000:8.1f} ms  {q['sql']}")

    if args.explain_over is not None:
        for p in measured:
            q = p.slowest()
            if q is None or p.median <= args.explain_over:
                continue
            print(f"\n-- {p.label}: median {p.median:.0f} ms; slowest statement "
                  f"{float(q['time']) * 1000:.1f} ms\n{q['sql']}\n{explain(q['sql'])}")

    failed = [p for p in measured if p.status != 200]
    if failed:
        sys.exit("pages that did not answer 200: " + ", ".join(p.label for p in failed))


if __name__ == "__main__":
    main()
