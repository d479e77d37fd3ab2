"""`ledger_verify`: is the points ledger what its writers wrote?

For every account, a chunk of accounts per statement (so each chunk reads the account rows
and their entries in one snapshot):
  * chain   — each entry's hash is the link of its content after the previous entry's hash
              (core.chain; a row altered or removed by hand breaks the link after it);
  * head    — the account's `chain_head` is its last entry's hash (the last row removed);
  * balance — available, pending, held and debt equal the sums of the entries' deltas;
  * lots    — each lot's remaining equals the sum of its movements, the available and
              pending lots add up to those balances, and `held` to the movements' held;
  * checkpoint — the entry an account was last found right at is still there with the hash
              it had (someone who alters a row and recomputes every later hash and the
              head leaves a chain consistent in itself, but not this one).

Incremental (the nightly run): an account whose head is its checkpoint's hash has written
nothing since; only its balances are compared with the checkpoint's sums. Any other
account is walked from its checkpoint (its entries after it, its lots). A full run walks
every account from its genesis and rewrites the checkpoints: it also finds a row altered
before a checkpoint, which an incremental run does not read. An account that differs keeps
its old checkpoint, so it is reported again by every run until it is put right.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from core.clock import resolve_now

from ..chain import ENTRY_CHAIN
from ..models import LedgerVerification

_LINK = ENTRY_CHAIN.link_sql("lag(e.hash, 1, s.from_hash) OVER w", "e")

# A chunk of accounts with their checkpoints: which to walk is decided from this; those not
# walked are checked here against their checkpoint (one statement: one snapshot).
_ACCOUNTS_SQL = """
SELECT a.member_id, a.available, a.pending, a.held, a.debt,
       (%(full)s OR c.last_entry_id IS NULL OR a.chain_head IS DISTINCT FROM c.last_hash),
       c.available, c.pending, c.held, c.debt
FROM points_pointsaccount a
LEFT JOIN points_ledgercheckpoint c ON c.member_id = a.member_id
WHERE a.member_id > %(after)s
ORDER BY a.member_id LIMIT %(limit)s
"""

# The accounts to walk (an array, so the planner reads each by its indexes), their entries
# from the checkpoint or the genesis, their lots and movements: one statement, one snapshot.
_WALK_SQL = """
WITH s AS MATERIALIZED (
    SELECT a.member_id, a.available, a.pending, a.held, a.debt, a.chain_head,
           c.last_entry_id AS c_last, c.last_hash AS c_hash,
           CASE WHEN %(full)s OR c.last_entry_id IS NULL THEN 0 ELSE c.last_entry_id END
               AS from_id,
           CASE WHEN %(full)s OR c.last_entry_id IS NULL THEN NULL ELSE c.last_hash END
               AS from_hash,
           CASE WHEN %(full)s OR c.last_entry_id IS NULL THEN 0 ELSE c.available END
               AS b_available,
           CASE WHEN %(full)s OR c.last_entry_id IS NULL THEN 0 ELSE c.pending END
               AS b_pending,
           CASE WHEN %(full)s OR c.last_entry_id IS NULL THEN 0 ELSE c.held END AS b_held,
           CASE WHEN %(full)s OR c.last_entry_id IS NULL THEN 0 ELSE c.debt END AS b_debt
    FROM unnest(%(members)s::bigint[]) AS w(member_id)
    JOIN points_pointsaccount a ON a.member_id = w.member_id
    LEFT JOIN points_ledgercheckpoint c ON c.member_id = a.member_id
), links AS (
    SELECT e.member_id, e.id, e.hash, e.available_delta, e.pending_delta, e.held_delta,
           e.debt_delta, e.hash IS DISTINCT FROM """ + _LINK + """ AS broken
    FROM s JOIN points_pointsentry e ON e.member_id = s.member_id AND e.id > s.from_id
    WINDOW w AS (PARTITION BY e.member_id ORDER BY e.id)
), walked AS (
    SELECT member_id, count(*) AS entries, max(id) AS last_id,
           (array_agg(hash ORDER BY id DESC))[1] AS last_hash,
           sum(available_delta) AS available, sum(pending_delta) AS pending,
           sum(held_delta) AS held, sum(debt_delta) AS debt,
           (array_agg(id ORDER BY id) FILTER (WHERE broken))[1:20] AS broken
    FROM links GROUP BY member_id
), anchors AS (
    SELECT s.member_id, e.id IS NOT NULL AND e.hash = s.c_hash AS intact
    FROM s LEFT JOIN points_pointsentry e ON e.id = s.c_last AND e.member_id = s.member_id
    WHERE s.c_last > 0
), moved AS (
    SELECT mv.lot_id, mv.member_id, sum(mv.points) AS points, sum(mv.held) AS held
    FROM s JOIN points_pointslotmovement mv ON mv.member_id = s.member_id
    GROUP BY mv.lot_id, mv.member_id
), lots AS (
    SELECT l.id, l.member_id, l.state, l.remaining
    FROM s JOIN points_pointslot l ON l.member_id = s.member_id
), bad_lots AS (
    SELECT member_id, (array_agg(lot_id ORDER BY lot_id))[1:20] AS lots FROM (
        SELECT COALESCE(m.member_id, l.member_id) AS member_id,
               COALESCE(m.lot_id, l.id) AS lot_id
        FROM moved m FULL JOIN lots l ON l.id = m.lot_id
        WHERE l.remaining IS DISTINCT FROM COALESCE(m.points, 0)
    ) x GROUP BY member_id
), lot_sums AS (
    SELECT member_id,
           sum(remaining) FILTER (WHERE state = 'available') AS available,
           sum(remaining) FILTER (WHERE state = 'pending') AS pending
    FROM lots GROUP BY member_id
), held_sums AS (
    SELECT member_id, sum(held) AS held FROM moved GROUP BY member_id
)
SELECT s.member_id, true, COALESCE(w.entries, 0),
       COALESCE(w.last_id, s.from_id), COALESCE(w.last_hash, s.from_hash),
       s.b_available + COALESCE(w.available, 0), s.b_pending + COALESCE(w.pending, 0),
       s.b_held + COALESCE(w.held, 0), s.b_debt + COALESCE(w.debt, 0),
       s.available, s.pending, s.held, s.debt,
       s.chain_head IS DISTINCT FROM COALESCE(w.last_hash, s.from_hash) AS head_differs,
       w.broken, COALESCE(an.intact, true), b.lots,
       COALESCE(ls.available, 0), COALESCE(ls.pending, 0), COALESCE(hs.held, 0)
FROM s
LEFT JOIN walked w ON w.member_id = s.member_id
LEFT JOIN anchors an ON an.member_id = s.member_id
LEFT JOIN bad_lots b ON b.member_id = s.member_id
LEFT JOIN lot_sums ls ON ls.member_id = s.member_id
LEFT JOIN held_sums hs ON hs.member_id = s.member_id
ORDER BY s.member_id
"""

_CHECKPOINT_SQL = """
INSERT INTO points_ledgercheckpoint AS c
    (member_id, last_entry_id, last_hash, available, pending, held, debt, checked_at)
SELECT * FROM unnest(%(members)s::bigint[], %(last)s::bigint[], %(hashes)s::bytea[],
                     %(available)s::bigint[], %(pending)s::bigint[], %(held)s::bigint[],
                     %(debt)s::bigint[]) AS t, (SELECT %(now)s::timestamptz) n
ON CONFLICT (member_id) DO UPDATE SET
    last_entry_id = EXCLUDED.last_entry_id, last_hash = EXCLUDED.last_hash,
    available = EXCLUDED.available, pending = EXCLUDED.pending, held = EXCLUDED.held,
    debt = EXCLUDED.debt, checked_at = EXCLUDED.checked_at
"""

BALANCES = ("available", "pending", "held", "debt")
FULL_CHUNK, INCREMENTAL_CHUNK = 100_000, 5_000


def _problems(row) -> tuple[list[dict], bool]:
    """The problems of one account's row of `_CHUNK_SQL`, and whether it was walked."""
    (_member, walk, _entries, _last_id, _last_hash, *rest) = row
    sums, stored = rest[0:4], rest[4:8]
    head_differs, broken, anchor_intact, bad_lots, lots_available, lots_pending, held = rest[8:]
    problems = []
    if broken:
        problems.append({"code": "chain", "detail": "entries " + ", ".join(map(str, broken))})
    if head_differs:
        problems.append({"code": "head", "detail": ""})
    if not anchor_intact:
        problems.append({"code": "checkpoint", "detail": ""})
    for name, total, value in zip(BALANCES, sums, stored, strict=True):
        if total != value:
            problems.append({"code": "balance",
                             "detail": f"{name} {value} ≠ Σ entries {total}"})
    if walk:
        if bad_lots:
            problems.append({"code": "lots", "detail": "lots " + ", ".join(map(str, bad_lots))})
        if (lots_available, lots_pending) != (stored[0], stored[1]):
            problems.append({"code": "lots", "detail": (
                f"available {stored[0]} / pending {stored[1]} ≠ lots "
                f"{lots_available} / {lots_pending}")})
        if held != stored[2]:
            problems.append({"code": "lots", "detail": f"held {stored[2]} ≠ Σ movements {held}"})
    return problems, walk


def ledger_verify(*, full: bool = False, chunk: int | None = None,
                  now: datetime | None = None) -> LedgerVerification:
    """Check every account of the points ledger (see the module) and record the run with
    every account that differs. Each chunk commits its checkpoints on its own; two runs at
    once take turns chunk by chunk (an advisory lock). A full run reads whole tables, so its
    chunks are large (each is a pass over the movements and lots); an incremental run's
    are small, and it walks only the accounts written since their checkpoints, by index."""
    now = resolve_now(now)
    chunk = chunk or (FULL_CHUNK if full else INCREMENTAL_CHUNK)
    run = LedgerVerification.objects.create(full=full, started_at=now)
    differences: list[dict] = []
    after = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('points.verify_ledger'))")
            cursor.execute(_ACCOUNTS_SQL, {"after": after, "limit": chunk, "full": full})
            accounts = cursor.fetchall()
            if not accounts:
                break
            walk = [row[0] for row in accounts if row[5]]
            for member_id, *stored, walked, c_available, c_pending, c_held, c_debt in accounts:
                if walked:
                    continue
                # nothing written since the checkpoint: the balances must still be its sums
                problems = [
                    {"code": "balance", "detail": f"{name} {value} ≠ Σ entries {total}"}
                    for name, value, total in zip(
                        BALANCES, stored, (c_available, c_pending, c_held, c_debt), strict=True)
                    if value != total]
                if problems:
                    differences.append({"member": member_id, "problems": problems})
            rows = []
            if walk:
                cursor.execute(_WALK_SQL, {"members": walk, "full": full})
                rows = cursor.fetchall()
            advance = []
            for row in rows:
                problems, _walk = _problems(row)
                if problems:
                    differences.append({"member": row[0], "problems": problems})
                else:
                    advance.append(row)
            if advance:
                cursor.execute(_CHECKPOINT_SQL, {
                    "members": [r[0] for r in advance], "last": [r[3] for r in advance],
                    "hashes": [r[4] for r in advance],
                    "available": [r[5] for r in advance], "pending": [r[6] for r in advance],
                    "held": [r[7] for r in advance], "debt": [r[8] for r in advance],
                    "now": now})
            run.accounts_checked += len(accounts)
            run.entries_checked += sum(r[2] for r in rows)
            after = accounts[-1][0]
    run.differences = differences
    run.differing_accounts = len(differences)
    run.finished_at = timezone.now()
    run.save()
    return run
