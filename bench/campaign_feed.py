#!/usr/bin/env python
"""The campaign feed under load, and the daily "days without a purchase" scan at scale.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench_feed \
        .venv/bin/python bench/campaign_feed.py [--seconds 20] [--rows-per-second 500] \
            [--sales-per-second 10] [--lapse-members 1000000] [--skip-feed] [--skip-lapse]

Use a database of its own: the script migrates it and adds members, orders and history.

1. **Feed.** Two phases of `--seconds` each, in separate processes: sales through the
   intake (`record_sale`) at a fixed rate, each timed, and tag-history rows inserted at
   `--rows-per-second` (10 rows per transaction). Phase A runs them alone (the baseline);
   phase B adds a reader that polls every second, one cursor per feed table. The report
   gives the sales' p50/p99 in both phases, the rows the reader handed on against the rows
   written, and the reader's lag (commit to read) at p50/p99/max.
2. **Lapse scan.** Tops the database up to `--lapse-members` members with one sale each
   (set-based SQL: members, their statistics, their last sale, spread over 120 days), then
   times the scan for a 30-day lapse and for the members' own cycle over 100,000-id chunks.

Informational only; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")


def _django():
    import django

    django.setup()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# --- feed phase ---------------------------------------------------------------------------

def sales_worker(seconds: float, rate: float, seed: int, out) -> None:
    _django()
    import random
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone

    from loyalty.services.intake import record_sale
    from members.services.orders import LineInput, SaleInput

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM members_member WHERE status = 'active' "
                       "AND member_no NOT LIKE 'L%%'")
        lo, hi = cursor.fetchone()
    rnd = random.Random(seed)
    latencies = []
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n / rate
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        now = timezone.now()
        sale = SaleInput(store_code="BENCH-FEED", order_no=f"bf-{seed}-{time.time_ns()}",
                         member_id=rnd.randint(lo, hi), ordered_at=now,
                         lines=(LineInput(line_no=1, sku="SKU", category="tea", quantity=1,
                                          gross_amount=Decimal("88.00")),))
        t0 = time.perf_counter()
        try:
            record_sale(sale=sale, now=now)
        except Exception:  # noqa: BLE001 - a member the seed closed: counted, not timed
            n += 1
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        n += 1
    out.put(("sales", latencies))


def history_worker(seconds: float, rows_per_second: int, out) -> None:
    _django()
    from django.db import connection, transaction

    per_tx = 10
    rate = rows_per_second / per_tx
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n / rate
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("""INSERT INTO members_tagchange (member_id, tag_id, action, cause, changed_at)
                              SELECT g, 999999, 'added', 'system', clock_timestamp()
                                FROM generate_series(1, %s) g""", [per_tx])
        n += 1
    out.put(("history", n * per_tx))


def reader_worker(seconds: float, out) -> None:
    _django()
    from django.utils import timezone

    from campaigns.models import FeedCursor
    from campaigns.selectors.feed import SOURCES
    from campaigns.services.feed import feed_consume, feed_cursor_open

    FeedCursor.objects.filter(name__startswith="bench:").delete()   # start at the horizon
    for source in SOURCES:
        feed_cursor_open(name=f"bench:{source}", source=source)
    lags: list[float] = []
    counts = dict.fromkeys(SOURCES, 0)
    poll_ms: list[float] = []

    def handle(rows, source):
        counts[source] += len(rows)
        if source == "tag_changes":
            read_at = timezone.now()
            lags.extend((read_at - r.values["changed_at"]).total_seconds()
                        for r in rows if r.values["tag_id"] == 999999)

    from django.db import connection

    blockers: list[tuple[float, str]] = []   # the oldest writing transaction at each poll

    start = time.monotonic()
    # poll every second during the load, then a few more times to drain what is left
    while time.monotonic() - start < seconds + 3:
        t0 = time.perf_counter()
        for source in SOURCES:
            feed_consume(name=f"bench:{source}", batch=5000,
                         handle=lambda rows, s=source: handle(rows, s))
        poll_ms.append((time.perf_counter() - t0) * 1000)
        with connection.cursor() as cursor:
            cursor.execute("""SELECT extract(epoch FROM clock_timestamp() - xact_start), datname
                                FROM pg_stat_activity WHERE backend_xid IS NOT NULL
                               ORDER BY backend_xid::text::bigint LIMIT 1""")
            row = cursor.fetchone()
            if row:
                blockers.append((float(row[0]), row[1]))
        time.sleep(max(0.0, 1 - (time.perf_counter() - t0)))
    out.put(("reader", {"counts": counts, "lags": lags, "poll_ms": poll_ms,
                        "blockers": blockers}))


def feed_phase(args, with_reader: bool) -> dict:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=sales_worker, args=(args.seconds, args.sales_per_second / 2,
                                                     i, out)) for i in range(2)]
    procs.append(ctx.Process(target=history_worker,
                             args=(args.seconds, args.rows_per_second, out)))
    if with_reader:
        procs.append(ctx.Process(target=reader_worker, args=(args.seconds, out)))
    for p in procs:
        p.start()
    results: dict = {"sales": []}
    for _ in procs:
        kind, value = out.get(timeout=args.seconds * 10 + 120)
        if kind == "sales":
            results["sales"].extend(value)
        else:
            results[kind] = value
    for p in procs:
        p.join()
    return results


def prepare_feed(args) -> None:
    from django.core.management import call_command
    from django.db import connection

    from members.models import Store

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_member WHERE member_no NOT LIKE 'L%%'")
        if cursor.fetchone()[0] < 1000:
            call_command("seed_members", members=5000, orders_per_member=2, verbosity=0)
    Store.objects.get_or_create(code="BENCH-FEED", defaults={"name": "bench feed"})
    from tiers.defaults import ensure_default_ladder

    ensure_default_ladder()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def report_feed(args) -> None:
    base = feed_phase(args, with_reader=False)
    polled = feed_phase(args, with_reader=True)
    reader = polled["reader"]
    print(f"\nfeed: {args.seconds:.0f} s per phase, {args.sales_per_second} sales/s target, "
          f"{args.rows_per_second} history rows/s")
    for label, res in (("A  baseline (no reader)", base), ("B  reader polling every 1 s", polled)):
        s = res["sales"]
        print(f"  {label:<30} sales {len(s):5d}  p50 {pct(s, 50):7.1f} ms  p99 "
              f"{pct(s, 99):7.1f} ms  max {max(s):7.1f} ms   history rows {res['history']}")
    lags = reader["lags"]
    print(f"  reader: handed on {reader['counts']}")
    print(f"  reader: {len(lags)} of {polled['history']} bench history rows read; lag "
          f"p50 {pct(lags, 50):.2f} s  p99 {pct(lags, 99):.2f} s  max {max(lags):.2f} s; "
          f"poll time p50 {pct(reader['poll_ms'], 50):.1f} ms  max "
          f"{max(reader['poll_ms']):.1f} ms")
    own = os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    ages = [age for age, _ in reader["blockers"]]
    others = sorted({db for _, db in reader["blockers"] if db != own})
    print(f"  the oldest writing transaction on the server at each poll: age p50 "
          f"{pct(ages, 50):.2f} s  max {max(ages, default=0):.2f} s; "
          f"{sum(1 for _, db in reader['blockers'] if db != own)} of {len(ages)} polls it "
          f"was in another database ({', '.join(others) or '-'})")


# --- lapse scan ---------------------------------------------------------------------------

def prepare_lapse(target: int, now: datetime) -> None:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM members_member")
        have, _ = cursor.fetchone()
    missing = target - have
    if missing <= 0:
        return
    print(f"adding {missing} members with one sale each ...", flush=True)
    t0 = time.perf_counter()
    step = 200_000
    for done in range(0, missing, step):
        n = min(step, missing - done)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("""
                WITH m AS (
                    INSERT INTO members_member (member_no, name, gender, region, source_channel,
                        status, marketing_consent, marketing_consent_source, created_at, updated_at)
                    SELECT 'L' || nextval('members_member_id_seq'), '', 'unknown', '', 'import',
                           'active', false, '', %(now)s, %(now)s
                      FROM generate_series(1, %(n)s)
                    RETURNING id),
                o AS (
                    INSERT INTO members_order (order_no, kind, ordered_at, gross_amount,
                        coupon_discount, tier_discount, other_discount, points_cash, net_amount,
                        fingerprint, created_at, member_id, store_id)
                    SELECT 'lapse-' || m.id, 'sale',
                           %(now)s - make_interval(secs => (m.id * 7919 %% (120 * 86400))),
                           50, 0, 0, 0, 0, 50, '', %(now)s, m.id,
                           (SELECT id FROM members_store WHERE code = 'BENCH-FEED')
                      FROM m
                    RETURNING member_id, ordered_at)
                INSERT INTO members_memberstats (member_id, first_purchase_at, last_purchase_at,
                    order_count, return_count, sales_amount, returns_amount, net_spend,
                    average_spend, repurchase_cycle_days, rfm_segment, quadrant, lifecycle)
                SELECT member_id, ordered_at - interval '60 days', ordered_at, 3, 0, 150, 0, 150,
                       50, 20 + member_id %% 25, '', '', ''
                  FROM o""", {"now": now, "n": n})
        print(f"  {done + n} added ({time.perf_counter() - t0:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_member")
        cursor.execute("ANALYZE members_memberstats")
        cursor.execute("ANALYZE members_order")


def report_lapse(args) -> None:
    from django.db import connection

    from campaigns.selectors.trigger_scans import member_id_ranges, trigger_scan
    from campaigns.selectors.triggers import trigger_spec

    now = datetime.fromisoformat("2026-03-14T10:00:00+08:00")
    prepare_lapse(args.lapse_members, now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_member")
        members = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM members_memberstats")
        stats = cursor.fetchone()[0]
    print(f"\nlapse scan: {members} members, {stats} with statistics")
    for label, params in (("30 days, 7 grace days", {"days": 30}),
                          ("the member's own cycle", {"cycle": "member"}),
                          ("30 days, run again (warm)", {"days": 30})):
        spec = trigger_spec("lapse", params)
        t0 = time.perf_counter()
        due = 0
        chunks = 0
        for lo, hi in member_id_ranges(chunk=100_000):
            due += len(trigger_scan(spec, now=now, lo=lo, hi=hi))
            chunks += 1
        print(f"  {label:<30} {time.perf_counter() - t0:6.2f} s  {chunks} chunks  "
              f"{due} members due")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rows-per-second", type=int, default=500)
    parser.add_argument("--sales-per-second", type=float, default=10)
    parser.add_argument("--lapse-members", type=int, default=1_000_000)
    parser.add_argument("--skip-feed", action="store_true")
    parser.add_argument("--skip-lapse", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL is required (a database of its own)")
    _django()
    prepare_feed(args)
    if not args.skip_feed:
        report_feed(args)
    if not args.skip_lapse:
        report_lapse(args)



if __name__ == "__main__":
    main()
