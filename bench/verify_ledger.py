#!/usr/bin/env python
"""Times `verify_ledger` (points.services.verify) on a large points ledger.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench_verify \
        .venv/bin/python bench/verify_ledger.py [--entries 1000000] [--members 100000] \
        [--tail 20000]

Migrates the database, seeds --members members if it has fewer, and writes --entries
ledger entries with set-based SQL, a block of members per statement: for each member an
earning of 10 points into a lot of its own, then a spend of 4 from that lot, and so on —
each entry with its lot movement, its hash chained in the same INSERT (core.chain's
running aggregate), the lots' remaining and the accounts' balances and chain heads set to
what the entries say. Then it times:

1. a full run (every account walked from its genesis, checkpoints written);
2. an incremental run with nothing new (each account's head compared with its checkpoint);
3. an incremental run after --tail entries were posted through the ledger's own posting
   path (`points_spend`, spread over members);
4. a full run finding one entry altered by hand.

Each run must find the ledger as it is (clean, then exactly the altered account).
Informational, not part of the test suite. It truncates the ledger's tables: use a
database of its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

if not os.environ.get("DATABASE_URL"):
    sys.exit("DATABASE_URL is required (a database of its own)")

import django  # noqa: E402

django.setup()

import pgtrigger  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from core.chain import install_running_link  # noqa: E402
from members.models import Member  # noqa: E402
from points.chain import ENTRY_CHAIN, ENTRY_COLUMNS  # noqa: E402
from points.services.ledger import points_spend  # noqa: E402
from points.services.verify import ledger_verify  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)

# Entry k (0-based) of the member with index i has id i * per + k + 1 and, for even k,
# the lot of the same id: an earning of 10 at k, a spend of 4 from that lot at k + 1.
SEED_SQL = """
WITH m AS (
    SELECT row_number() OVER (ORDER BY id) - 1 AS i, id AS member_id
    FROM members_member ORDER BY id OFFSET %(first)s LIMIT %(count)s
), g AS (
    SELECT m.i, m.member_id, k, m.i * %(per)s + k + 1 AS id,
           %(now)s - make_interval(secs => (%(per)s - k) * 3600) AS created_at
    FROM m, generate_series(0, %(per)s - 1) k
), lots AS (
    INSERT INTO points_pointslot (id, member_id, state, original, remaining, expires_at,
                                  created_at)
    SELECT id, member_id, 'available', 10, CASE WHEN k + 1 < %(per)s THEN 6 ELSE 10 END,
           NULL, created_at
    FROM g WHERE k %% 2 = 0
), rows AS (
    SELECT g.id, """ + ", ".join(
    f"({expr})::{kind} AS {column}" for column, expr, kind in (
        ("member_id", "g.member_id", "bigint"),
        ("kind", "CASE WHEN k % 2 = 0 THEN 'earn' ELSE 'spend' END", "text"),
        ("available_delta", "CASE WHEN k % 2 = 0 THEN 10 ELSE -4 END", "bigint"),
        ("pending_delta", "0", "bigint"), ("held_delta", "0", "bigint"),
        ("debt_delta", "0", "bigint"), ("order_id", "NULL", "bigint"),
        ("lot_id", "CASE WHEN k % 2 = 0 THEN g.id END", "bigint"),
        ("source_key", "NULL", "text"), ("reason", "'bench'", "text"),
        ("operator_id", "NULL", "bigint"), ("note_id", "NULL", "bigint"),
        ("store_id", "NULL", "bigint"), ("actor_user_id", "NULL", "bigint"),
        ("actor_api_key_id", "NULL", "bigint"), ("created_at", "g.created_at", "timestamptz"),
    )).replace("%", "%%") + """
    FROM g
), entries AS (
    INSERT INTO points_pointsentry (id, hash, """ + ", ".join(ENTRY_COLUMNS) + """)
    SELECT e.id, """ + ENTRY_CHAIN.running_link_sql("e") + """
               OVER (PARTITION BY e.member_id ORDER BY e.id), """ + ", ".join(
    f"e.{c}" for c in ENTRY_COLUMNS) + """
    FROM rows e
    RETURNING id, member_id, hash
), movements AS (
    INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held, created_at)
    SELECT id, CASE WHEN k %% 2 = 0 THEN id ELSE id - 1 END, member_id,
           CASE WHEN k %% 2 = 0 THEN 10 ELSE -4 END, 0, created_at
    FROM g
)
UPDATE points_pointsaccount a
SET available = s.available, updated_at = %(now)s
FROM (SELECT member_id, sum(CASE WHEN k %% 2 = 0 THEN 10 ELSE -4 END) AS available
      FROM g GROUP BY member_id) s
WHERE a.member_id = s.member_id
"""

HEADS_SQL = """
UPDATE points_pointsaccount a SET chain_head = h.hash
FROM (SELECT DISTINCT ON (member_id) member_id, hash FROM points_pointsentry
      WHERE member_id = ANY(%(members)s) ORDER BY member_id, id DESC) h
WHERE a.member_id = h.member_id
"""


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label:<58} {time.perf_counter() - started:8.2f} s", flush=True)
    return result


def seed(entries: int, members: int) -> None:
    per = max(2, entries // members)
    manage = [sys.executable, os.path.join(ROOT, "manage.py")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_member")
        have = cursor.fetchone()[0]
    if have < members:
        subprocess.run([*manage, "seed_members", "--members", str(members - have),
                        "--orders-per-member", "0"], check=True)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE points_pointslotmovement, points_pointsentry, points_pointslot, "
                       "points_ledgercheckpoint, points_ledgerverification CASCADE")
        cursor.execute("""INSERT INTO points_pointsaccount
                              (member_id, available, pending, held, debt, updated_at)
                          SELECT id, 0, 0, 0, 0, %s FROM members_member
                          ON CONFLICT (member_id) DO UPDATE SET available = 0, pending = 0,
                              held = 0, debt = 0, chain_head = NULL""", [NOW])
    block = max(1, 1_000_000 // per)
    for first in range(0, members, block):
        with transaction.atomic(), connection.cursor() as cursor:
            install_running_link(cursor)
            cursor.execute(SEED_SQL, {"first": first, "count": block, "per": per, "now": NOW})
            cursor.execute("SELECT array_agg(id) FROM (SELECT id FROM members_member ORDER BY id "
                           "OFFSET %s LIMIT %s) s", [first, block])
            cursor.execute(HEADS_SQL, {"members": cursor.fetchone()[0]})
        print(f"  seeded members {first:,}–{min(first + block, members) - 1:,}", flush=True)
    with connection.cursor() as cursor:
        for table in ("points_pointsentry", "points_pointslot", "points_pointslotmovement"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE points_pointsentry, points_pointslot, points_pointslotmovement, "
                       "points_pointsaccount")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--tail", type=int, default=20_000)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    subprocess.run([sys.executable, os.path.join(ROOT, "manage.py"), "migrate", "-v", "0"],
                   check=True)
    if not args.skip_seed:
        timed(f"seed {args.entries:,} entries over {args.members:,} members",
              lambda: seed(args.entries, args.members))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT member_id) FROM points_pointsentry")
        total, accounts = cursor.fetchone()
    print(f"ledger: {total:,} entries, {accounts:,} members with entries")

    run = timed("full run", lambda: ledger_verify(full=True, now=NOW))
    assert run.clean and run.entries_checked == total, run.differences[:5]
    run = timed("incremental run, nothing new", lambda: ledger_verify(now=NOW))
    assert run.clean and run.entries_checked == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT a.member_id FROM points_pointsaccount a JOIN members_member m "
                       "ON m.id = a.member_id WHERE a.available >= 1 AND "
                       + Member.can_earn_or_spend_sql("m")
                       + " ORDER BY a.member_id LIMIT %s", [args.tail])
        spenders = [row[0] for row in cursor.fetchall()]
    timed(f"post {len(spenders):,} spends (the posting path)", lambda: [
        points_spend(member_id=m, points=1, now=NOW) for m in spenders])
    run = timed(f"incremental run after {len(spenders):,} new entries",
                lambda: ledger_verify(now=NOW))
    assert run.clean and run.entries_checked == len(spenders), run.differences[:5]
    with pgtrigger.ignore("points.PointsEntry:append_only"), connection.cursor() as cursor:
        cursor.execute("UPDATE points_pointsentry SET reason = 'altered' WHERE id = "
                       "(SELECT id FROM points_pointsentry ORDER BY id OFFSET %s LIMIT 1) "
                       "RETURNING member_id", [total // 2])
        altered = cursor.fetchone()[0]
    run = timed("full run finding one altered entry", lambda: ledger_verify(full=True, now=NOW))
    assert [d["member"] for d in run.differences] == [altered], run.differences[:5]
    print(f"  found member {altered}: {run.differences[0]['problems']}")
    with pgtrigger.ignore("points.PointsEntry:append_only"), connection.cursor() as cursor:
        cursor.execute("UPDATE points_pointsentry SET reason = 'bench' WHERE reason = 'altered'")


if __name__ == "__main__":
    main()
