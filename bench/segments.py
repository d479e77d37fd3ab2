#!/usr/bin/env python
"""Times the member insights at scale: the nightly rebuild (statistics, lifecycle, RFM,
preference tags, rule tags), three-condition segment counts, and tagging 100k members.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_segments_bench \\
        .venv/bin/python bench/segments.py [--runs 5] [--skip-rebuild]

Meant for a database filled by `manage.py seed_members --members 1000000
--orders-per-member 5`. It creates a few rule tags (`bench-*`), a manual tag `bench-bulk`
and their history rows, and fills the statistics; run it on a database of its own.
Each segment count runs once to warm up and then --runs times; the median is printed, next
to the same count written over the members_membertag join table for comparison, and the
plans of the first two.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RULES = {
    "bench-young-women": [{"kind": "gender", "values": "female"},
                          {"kind": "age", "minimum": 20, "maximum": 35}],
    "bench-big-spenders": [{"kind": "statistic", "statistic": "net_spend", "minimum": 3000}],
    "bench-at-risk": [{"kind": "lifecycle", "values": "at_risk,dormant"}],
    "bench-champions": [{"kind": "rfm_segment", "values": "champions"}],
    "bench-recent-buyers": [{"kind": "statistic", "statistic": "days_since_last",
                             "maximum": 90}],
    "bench-checkins": [{"kind": "activity", "values": "checkin", "minimum": 1,
                        "period": "days", "days": 365}],
}


def timed(label: str, fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    elapsed = time.perf_counter() - started
    print(f"  {label:<44} {elapsed:9.2f} s   {result if result is not None else ''}", flush=True)
    return result


def median_ms(fn, runs: int) -> tuple[float, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-rebuild", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL is required (a seeded database of its own)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from members.models import Member, MemberTag, Order, Tag, TagCondition, TagRule
    from members.selectors.segments import segment_count, segment_where
    from members.services.rfm import preference_tags_refresh, rfm_score
    from members.services.stats import lifecycle_refresh, stats_rebuild
    from members.services.tag_rules import tag_rules_refresh
    from members.services.tags import member_tags_add, member_tags_remove

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                       ["members_order"])
        orders = cursor.fetchone()[0]
    members = Member.objects.count()
    print(f"{members:,} members, ~{orders:,} orders, {MemberTag.objects.count():,} member tags, "
          f"{Tag.objects.count()} tags")

    for code, conditions in RULES.items():
        tag, _ = Tag.objects.get_or_create(code=code, defaults={"name": code,
                                                                "kind": Tag.Kind.RULE})
        rule, created = TagRule.objects.get_or_create(tag=tag)
        if created:
            for condition in conditions:
                TagCondition.objects.create(rule=rule, **condition)

    if not args.skip_rebuild:
        print("nightly rebuild, step by step:")
        total = time.perf_counter()
        timed("statistics (chunks)", stats_rebuild, now=now)
        timed("statistics again (nothing changed)", stats_rebuild, now=now)
        timed("lifecycle (members changed)", lifecycle_refresh, now=now)
        timed("RFM", lambda: rfm_score(now=now).members)
        timed("preference tags (added, removed)", preference_tags_refresh, now=now)
        timed(f"{len(RULES)} rule tags (added, removed)", tag_rules_refresh, now=now)
        timed("rule tags again (nothing changes)", tag_rules_refresh, now=now)
        print(f"  {'total':<44} {time.perf_counter() - total:9.2f} s")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_member")
        cursor.execute("ANALYZE members_segmentfacts")
    popular = list(Tag.objects.filter(code__startswith="seed-").order_by("pk")
                   .values_list("code", flat=True)[:3])
    a, b, c = popular
    expressions = [
        f"tag:{a} and tag:{b} and not tag:{c}",
        f"tag:{a} and gender:female and region:上海市",
        f"(tag:{a} or tag:{b}) and not tag:bench-at-risk",
        "tag:bench-recent-buyers and tag:bench-young-women and not tag:bench-champions",
        "age:20-35 and channel:mini_program and not gender:male",
    ]
    print(f"segment counts (median of {args.runs}):")
    for expression in expressions:
        ms, count = median_ms(lambda: segment_count(expression, now=now), args.runs)
        print(f"  {ms:8.1f} ms  {count:>9,}  {expression}", flush=True)
    tag_ids = dict(Tag.objects.filter(code__in=[a, b, c]).values_list("code", "pk"))
    join_sql = f"""SELECT count(*) FROM members_member m WHERE m.status <> 'closed'
        AND EXISTS (SELECT 1 FROM members_membertag t WHERE t.member_id = m.id AND t.tag_id = {tag_ids[a]})
        AND EXISTS (SELECT 1 FROM members_membertag t WHERE t.member_id = m.id AND t.tag_id = {tag_ids[b]})
        AND NOT EXISTS (SELECT 1 FROM members_membertag t
                        WHERE t.member_id = m.id AND t.tag_id = {tag_ids[c]})"""

    def join_count():
        with connection.cursor() as cursor:
            cursor.execute(join_sql)
            return cursor.fetchone()[0]

    ms, count = median_ms(join_count, args.runs)
    print(f"  {ms:8.1f} ms  {count:>9,}  the first, over the join table instead (comparison)")
    for which, expression in (("first", expressions[0]), ("second", expressions[1])):
        where, params = segment_where(expression, now=now)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) "
                           f"FROM members_segmentfacts f WHERE {where}", params)
            print(f"  plan of the {which}:\n    "
                  + "\n    ".join(r[0] for r in cursor.fetchall()))

    print("tagging 100,000 members at once:")
    bulk, _ = Tag.objects.get_or_create(code="bench-bulk", defaults={"name": "bench bulk"})
    member_tags_remove(tag_id=bulk.pk, members=Member.objects.all(), now=now)
    low = Member.objects.order_by("pk").values_list("pk", flat=True).first()
    ids = list(range(low, low + 100_000))
    timed("add by ids (added)", member_tags_add, tag_id=bulk.pk, member_ids=ids,
          cause="manual", now=now)
    timed("remove by ids (removed)", member_tags_remove, tag_id=bulk.pk, member_ids=ids,
          cause="manual", now=now)
    selection = Member.objects.filter(pk__gte=low + 200_000, pk__lt=low + 300_000)
    timed("add an admin selection (queryset)", member_tags_add, tag_id=bulk.pk,
          members=selection, cause="manual", now=now)
    ms, count = median_ms(lambda: segment_count("tag:bench-bulk", now=now), args.runs)
    print(f"  {ms:8.1f} ms  {count:>9,}  count of the new tag")
    assert Order.objects.exists()
    return 0


if __name__ == "__main__":
    sys.exit(main())
