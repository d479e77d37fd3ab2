#!/usr/bin/env python
"""Informational benchmark of POST /api/v1/orders/sales (not part of the test suite).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench_api \
        .venv/bin/python bench/sale_api.py [--clients 8] [--seconds 20] [--workers 2]

1. Prepares the database: migrate, seed members if there are none, a store, an API key.
2. Starts gunicorn and drives the endpoint with N client processes (one connection each)
   posting distinct valid sales for the given duration.
3. Captures the SQL one sale request issues (in-process, django.test.Client), turns it into a
   pgbench script with the same statements and transaction structure, and runs pgbench with
   the same number of clients and duration.
4. Prints both side by side, with the ratio endpoint / pgbench, and writes the figures to
   bench/results/sale_api.txt (git-ignored) along with the captured statements and the script.

See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
PATH = "/api/v1/orders/sales"
BENCH_STORE = "BENCH"  # created only when no store has orders yet
SECRET_KEY = "bench-sale-api-not-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


# --- small helpers ------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil
    return sorted_values[int(rank) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds (user + system) of a process, plus its reaped children's if asked."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLK_TCK


def proc_children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process tree: the live processes plus the ones already reaped."""
    total = proc_cpu(pid, children=True)
    for child in proc_children(pid):
        total += tree_cpu(child)
    return total


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class Db:
    url: str
    host: str
    port: int
    user: str
    password: str
    name: str

    @classmethod
    def parse(cls, url: str) -> Db:
        u = urlparse(url)
        if u.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL, not {u.scheme!r}")
        return cls(url=url, host=u.hostname or "127.0.0.1", port=u.port or 5432,
                   user=unquote(u.username or "postgres"), password=unquote(u.password or ""),
                   name=u.path.lstrip("/"))

    def pgbench_args(self) -> list[str]:
        # The database name goes last, as pgbench's positional argument: pgbench's -d is
        # --debug (it would log every statement to stderr and slow the run down).
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


# --- sales -------------------------------------------------------------------------------------


def make_sale(rng: random.Random, store: str, members: list[int], order_no: str,
              n_lines: int | None = None) -> dict:
    n_lines = n_lines or rng.randint(1, 3)
    lines = []
    for line_no in range(1, n_lines + 1):
        gross = rng.randint(1_000, 60_000)  # cents: 10.00 – 600.00
        coupon = rng.choice((0, 0, 0, 500, 1_000))
        lines.append({
            "line_no": line_no, "sku": f"SKU{rng.randrange(100_000):05d}", "category": "bench",
            "quantity": rng.randint(1, 3), "gross_amount": f"{gross / 100:.2f}",
            "coupon_discount": f"{coupon / 100:.2f}",
        })
    return {
        "store": store, "order_no": order_no, "member": rng.choice(members),
        "ordered_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "lines": lines,
    }


# --- 1. preparing the database ----------------------------------------------------------------


def manage(*args: str, db: Db) -> None:
    env = dict(os.environ, DATABASE_URL=db.url, SECRET_KEY=SECRET_KEY, DEBUG="1",
               DJANGO_SETTINGS_MODULE="config.settings")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=True)


@dataclass
class Prepared:
    store: str
    api_key: str
    api_key_id: int
    members: list[int]          # active members, for the HTTP clients
    member_range: tuple[int, int]  # contiguous id range, for pgbench


def prepare(args, db: Db) -> Prepared:
    log("migrate")
    manage("migrate", "--noinput", "-v", "0", db=db)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Max, Min

    from loyalty.services.api_keys import api_key_create
    from members.models import Member, Store
    from points.models import PointsSettings

    if not Member.objects.exists():
        log(f"no members: seeding {args.members:,} with seed_members")
        manage("seed_members", "--members", str(args.members), "--orders-per-member",
               str(args.orders_per_member), "--seed", str(args.seed), db=db)
    store = _store_with_orders()
    if store is None:
        store, _ = Store.objects.get_or_create(code=BENCH_STORE, defaults={"name": "Benchmark store"})
    PointsSettings.load()
    user, _ = get_user_model().objects.get_or_create(username="bench-sale-api")
    # A rate far above what the run can reach, so the per-key throttle (which still runs)
    # never refuses a request.
    key, raw = api_key_create(name=f"bench sale_api {datetime.now():%Y-%m-%d %H:%M:%S}",
                              scopes=["orders:write"], owner_id=user.pk,
                              rate_per_minute=2_000_000_000)
    members = list(Member.objects.filter(status=Member.Status.ACTIVE)
                   .order_by("id").values_list("id", flat=True))
    agg = Member.objects.aggregate(lo=Min("id"), hi=Max("id"))
    total = Member.objects.count()
    if agg["hi"] - agg["lo"] + 1 != total:
        raise SystemExit(f"member ids {agg['lo']}–{agg['hi']} have gaps ({total:,} members): "
                         "the pgbench script picks members with random(lo, hi)")
    # Fresh statistics, so every run starts from the same plans (autovacuum would get there
    # later, after 10% of a table has changed).
    with connection.cursor() as cur:
        cur.execute("ANALYZE members_member, members_order, members_orderline, "
                    "points_pointsaccount, points_pointslot, points_pointsentry")
    log(f"{total:,} members ({len(members):,} active), store {store.code}, API key {key.prefix}")
    return Prepared(store=store.code, api_key=raw, api_key_id=key.pk, members=members,
                    member_range=(agg["lo"], agg["hi"]))


def _store_with_orders():
    """The store with the most orders. A store the planner's statistics know about: the
    order-number lookup of a store created after the last ANALYZE gets a bad plan (see
    bench/README.md), which would make the benchmark measure that instead."""
    from django.db import connection

    from members.models import Store

    with connection.cursor() as cur:
        cur.execute("SELECT store_id FROM members_order GROUP BY store_id "
                    "ORDER BY count(*) DESC LIMIT 1")
        row = cur.fetchone()
    return Store.objects.filter(pk=row[0]).first() if row else None


# --- 3a. capturing the SQL of one request -----------------------------------------------------


@dataclass
class Stmt:
    sql: str                      # exactly as sent (or logged) for the captured request
    template: str | None = None   # with %s placeholders
    params: list = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # each parameter as a SQL literal
    columns: list[str] = field(default_factory=list)   # of the result, if any
    rows: list[tuple] = field(default_factory=list)
    note: str = ""
    has_params: bool = True       # without parameters the text goes out verbatim (no %% escapes)

    def fill(self, values: list[str]) -> str:
        assert self.template is not None
        return self.template % tuple(values) if self.has_params else self.template


def capture(prep: Prepared, run: str) -> tuple[list[Stmt], dict, dict]:
    """Post one sale in-process and record every statement it sends, in order."""
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(4242)
    # A member id with at least 4 digits keeps it distinguishable from quantities and
    # line numbers when the statements are turned into a script.
    candidates = [m for m in prep.members if m >= 1000] or prep.members
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {prep.api_key}")

    def post(order_no: str) -> tuple[dict, object]:
        body = make_sale(rng, prep.store, candidates, order_no, n_lines=2)
        return body, client.post(PATH, data=body, content_type="application/json")

    # Warm up on a new connection: its set-up queries, the API key's last_used_at write
    # (once a minute) and first-use effects happen here, so the captured request is a
    # steady-state one (and well within CONN_MAX_AGE of its connection).
    connection.close()
    _, response = post(f"cap-{run}-warm")
    if response.status_code != 201:
        raise SystemExit(f"warm-up sale failed: {response.status_code} {response.content[:500]!r}")

    wrapped: list[Stmt | str] = []
    tools: dict = {}

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        cur = context["cursor"].cursor  # the psycopg cursor
        template = sql
        if isinstance(params, dict):  # %(name)s placeholders become positional, in order
            names = NAMED_PLACEHOLDER.findall(sql)
            template, params = NAMED_PLACEHOLDER.sub("%s", sql), [params[n] for n in names]
        stmt = Stmt(sql="", template=template, params=list(params or ()),
                    has_params=params is not None)
        if cur.description is not None and 0 <= cur.rowcount <= 10:
            stmt.columns = [d.name for d in cur.description]
            stmt.rows = cur.fetchall()
            if stmt.rows:
                cur.scroll(0, mode="absolute")  # hand the rows back to Django untouched
        # Each parameter as psycopg renders it (client-side binding), with a cursor of its
        # own: mogrify() on the executing cursor would drop its result.
        if "mogrify" not in tools:
            tools["mogrify"] = context["connection"].connection.cursor()
        stmt.rendered = [tools["mogrify"].mogrify("%s", [p]) for p in stmt.params]
        wrapped.append(stmt)
        return result

    real_is_usable = connection.is_usable

    def is_usable():
        wrapped.append("health")
        return real_is_usable()

    connection.is_usable = is_usable
    try:
        with connection.execute_wrapper(wrapper), CaptureQueriesContext(connection) as logged:
            # What the request_started signal does under a real server (the test client
            # disconnects it): the next query is preceded by a health check (SELECT 1).
            close_old_connections()
            body, response = post(f"cap-{run}-1")
    finally:
        del connection.is_usable
    if response.status_code != 201:
        raise SystemExit(f"captured sale failed: {response.status_code} {response.content[:500]!r}")

    # Merge: Django's log has BEGIN/COMMIT (not cursor statements); the wrapper has the
    # parameters and results; the health check (psycopg directly) is in neither log.
    stmts: list[Stmt] = []
    pending = list(wrapped)
    for entry in logged.captured_queries:
        while pending and pending[0] == "health":
            pending.pop(0)
            stmts.append(Stmt(sql="SELECT 1", note="connection health check (CONN_HEALTH_CHECKS)"))
        if entry["sql"] in {"BEGIN", "COMMIT", "ROLLBACK"}:
            stmts.append(Stmt(sql=entry["sql"]))
            continue
        stmt = pending.pop(0)
        stmt.sql = entry["sql"]
        assert stmt.template is not None
        rebuilt = stmt.fill(stmt.rendered)
        if rebuilt != stmt.sql:
            raise SystemExit(f"cannot rebuild a statement from its parameters:\n{stmt.sql}\n{rebuilt}")
        stmts.append(stmt)
    if pending:
        raise SystemExit(f"unmatched statements after the request: {pending}")
    return stmts, body, json.loads(response.content)


# --- 3b. the pgbench script --------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%%|%s")
INSERT_COLS = re.compile(r'^\s*INSERT INTO "?(\w+)"?\s*\(([^)]*)\)', re.S)
LEFT_COLUMN = re.compile(r'(?:"(\w+)"\.)?"?(\w+)"?\s*(?:=|IN\s*\((?:%s,\s*)*)\s*$', re.S)
UPDATE_TABLE = re.compile(r'^\s*UPDATE "?(\w+)"?', re.S)
FROM_TABLE = re.compile(r'\bFROM "?(\w+)"?')

Hint = tuple[str | None, str] | None  # (table, column) a placeholder goes to or is compared with


def column_hints(template: str) -> list[Hint]:
    """For each placeholder, the column it goes to or is compared with, if recognisable."""
    spots = [m.start() for m in PLACEHOLDER.finditer(template) if m.group() == "%s"]
    insert = INSERT_COLS.match(template)
    if insert:
        cols = [c.strip().strip('"') for c in insert.group(2).split(",")]
        if spots and len(spots) % len(cols) == 0:  # VALUES (...), (...) or UNNEST(col arrays)
            return [(insert.group(1), cols[i % len(cols)]) for i in range(len(spots))]
    update = UPDATE_TABLE.match(template)
    hints: list[Hint] = []
    for pos in spots:
        m = LEFT_COLUMN.search(template[:pos])
        hints.append((m.group(1) or (update.group(1) if update else None), m.group(2)) if m else None)
    return hints


@dataclass
class Keys:
    """Primary and foreign keys of the installed models, by table and column."""

    pk: dict[str, str]                # table -> primary key column
    fk: dict[tuple[str, str], str]    # (table, column) -> referenced table

    @classmethod
    def load(cls) -> Keys:
        from django.apps import apps

        pk, fk = {}, {}
        for model in apps.get_models():
            table = model._meta.db_table
            pk[table] = model._meta.pk.column
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model is not None:
                    fk[(table, f.column)] = f.related_model._meta.db_table
        return cls(pk, fk)

    def refers_to(self, hint: Hint) -> str | None:
        """The table whose primary key the hinted column holds, if it holds one."""
        if not hint or not hint[0]:
            return None
        table, col = hint
        return self.fk.get((table, col)) or (table if self.pk.get(table) == col else None)


@dataclass
class Var:
    name: str
    value: object
    table: str                     # the row it comes from
    col: str
    stmt_index: int | None = None  # the statement that \gsets it (None: \set in the script)
    used: bool = False


def build_script(stmts: list[Stmt], body: dict, member_range: tuple[int, int]) -> tuple[str, list[str]]:
    """The captured statements with the per-request values replaced by pgbench variables:

    - :member  random existing member (\\set member random(lo, hi))
    - the order number: 'pgb-:run-:client_id-:seq' (run from -D, seq counts per client)
    - ids the request generates (one-row INSERT ... RETURNING, SELECT ... FOR UPDATE) come
      back with \\gset <table>_ and are used where the request used them: in key columns
      by what the column references, in other places (raw SQL, keys like 'sale:123') by value
    - absolute balances written back (UPDATE ... SET "pending" = 336) become the locked
      row's value plus the same change.
    Everything else (amounts, timestamps, the fingerprint, savepoint names, ids of
    multi-row results such as the order lines) stays literal.
    """
    keys = Keys.load()
    variables: list[Var] = [Var("member", body["member"], "members_member", keys.pk["members_member"])]
    order_no = body["order_no"]
    locked_rows: dict[str, tuple[str, dict[str, object]]] = {}  # table -> (prefix, row)
    out_lines: list[str] = []
    labels: list[str] = []
    gset_at: dict[int, str] = {}
    rendered_sql: list[str] = []

    for index, stmt in enumerate(stmts):
        if stmt.template is None:
            rendered_sql.append(stmt.sql)
            continue
        hints = column_hints(stmt.template)
        update = UPDATE_TABLE.match(stmt.template)
        parts = []
        for param, literal, hint in zip(stmt.params, stmt.rendered, hints):
            parts.append(_param_text(param, literal, hint, keys, variables, order_no,
                                     locked_rows.get(update.group(1)) if update else None))
        rendered_sql.append(stmt.fill(parts))
        # ids and locked rows this statement returns
        if len(stmt.rows) == 1:
            upper = stmt.template.lstrip().upper()
            table = None
            if upper.startswith("INSERT") and "RETURNING" in upper:
                table = INSERT_COLS.match(stmt.template).group(1)
            elif upper.startswith("SELECT") and "FOR UPDATE" in upper:
                table = FROM_TABLE.search(stmt.template).group(1)
            if table:
                prefix = f"{table}_"
                row = dict(zip(stmt.columns, stmt.rows[0]))
                for col, value in row.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        variables.append(Var(prefix + col, value, table, col, index))
                if upper.startswith("SELECT"):
                    locked_rows[table] = (prefix, row)
                gset_at[index] = prefix

    used_gsets = {v.stmt_index for v in variables if v.used and v.stmt_index is not None}
    lo, hi = member_range
    out_lines += [
        "-- Generated by bench/sale_api.py from one captured POST /api/v1/orders/sales",
        "-- (2 lines). Run with -D run=<unique> -D seq=0.",
        f"\\set member random({lo}, {hi})",
        "\\set seq :seq + 1",
    ]
    for index, (stmt, text) in enumerate(zip(stmts, rendered_sql)):
        text = text.strip()
        if stmt.note:
            out_lines.append(f"-- {stmt.note}")
        if index in used_gsets:
            out_lines.append(f"{text} \\gset {gset_at[index]}")
        else:
            out_lines.append(f"{text};")
        labels.append(" ".join(stmt.sql.split()))
    return "\n".join(out_lines) + "\n", labels


def _param_text(param, literal: str, hint: Hint, keys: Keys, variables: list[Var],
                order_no: str, locked: tuple[str, dict] | None) -> str:
    target = keys.refers_to(hint)

    def is_key(var: Var) -> bool:
        return keys.pk.get(var.table) == var.col or (var.table, var.col) in keys.fk

    def find(value: int) -> Var | None:
        if target:  # a key column: only an id of the table it references
            return next((v for v in variables if v.value == value and v.table == target
                         and keys.pk.get(target) == v.col), None)
        if hint and hint[0]:  # a column known not to be a key
            return None
        # Unknown place (raw SQL): by value, the input (member) first, then in order of
        # creation. Small numbers are more likely quantities than ids.
        if value < 1000:
            return None
        return next((v for v in variables if v.value == value and is_key(v)), None)

    if isinstance(param, bool) or param is None:
        return literal
    if isinstance(param, int):
        col = hint[1] if hint else None
        if locked and col in locked[1] and isinstance(locked[1][col], int):
            prefix, row = locked
            delta = param - row[col]
            var = next(v for v in variables if v.name == prefix + col)
            var.used = True
            return f":{var.name}" + (f" + {delta}" if delta > 0 else f" - {-delta}" if delta else "")
        var = find(param)
        if var:
            var.used = True
            return f":{var.name}"
        return literal
    if isinstance(param, str):
        if param == order_no:
            return "'pgb-:run-:client_id-:seq'"
        # Ids inside keys ('earn:order:123', 'sale:123:member'): a run of digits that stands
        # alone and equals an id the request created.
        pieces = re.split(r"(?<![0-9A-Za-z])(\d+)(?![0-9A-Za-z])", param)
        out, hit = [], False
        for i, piece in enumerate(pieces):
            var = next((v for v in variables if is_key(v) and v.value >= 1000
                        and str(v.value) == piece), None) if i % 2 else None
            if var:
                var.used, hit = True, True
                out.append(f":{var.name}")
            else:
                out.append(_e_string_body(piece))
        if hit:
            return "E'" + "".join(out) + "'"
        return pgbench_safe(literal)
    if isinstance(param, (list, tuple)) and param and all(
            isinstance(x, int) and not isinstance(x, bool) for x in param):
        items, hit = [], False
        for x in param:
            var = find(x)
            if var:
                var.used, hit = True, True
                items.append(f":{var.name}")
            else:
                items.append(str(x))
        if hit:
            return "'{" + ",".join(items) + "}'::int8[]"
        return literal
    return pgbench_safe(literal)


def _e_string_body(text: str) -> str:
    """Text for the inside of E'...': every colon written \\x3a, so pgbench never takes
    ':name' in the data for one of its variables."""
    return text.replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3a")


def pgbench_safe(literal: str) -> str:
    """A rendered string literal, rewritten as an E'' string if pgbench would otherwise
    substitute something in it (pgbench replaces ':name' even inside quotes)."""
    m = re.fullmatch(r"(E?)'((?:[^']|'')*)'(.*)", literal, re.S)
    if not m or not re.search(r":[A-Za-z_]", m.group(2)):
        return literal
    body = m.group(2) if m.group(1) else m.group(2).replace("\\", "\\\\")
    return "E'" + body.replace(":", "\\x3a") + "'" + m.group(3)


def check_script(script: Path, db: Db, run: str, store: str) -> None:
    """One transaction of the script, then check it wrote a consistent sale."""
    from django.db import connection

    cmd = [pgbench_path(), "-n", *db.pgbench_args(), "-c", "1", "-t", "1", "-f", str(script),
           "-D", f"run={run}", "-D", "seq=0", db.name]
    done = subprocess.run(cmd, env=db.env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pgbench script check failed:\n{done.stdout}\n{done.stderr}")
    with connection.cursor() as cur:
        cur.execute("""
            SELECT o.id, (SELECT count(*) FROM members_orderline l WHERE l.order_id = o.id),
                   (SELECT count(*) FROM points_pointslot p WHERE p.order_id = o.id),
                   (SELECT count(*) FROM points_pointsentry e JOIN points_pointslot p ON p.id = e.lot_id
                     WHERE e.order_id = o.id AND p.order_id = o.id AND e.member_id = o.member_id
                       AND e.source_key ~ ('(^|[^0-9])' || o.id || '([^0-9]|$)'))
            FROM members_order o JOIN members_store s ON s.id = o.store_id
            WHERE s.code = %s AND o.order_no = %s""", [store, f"pgb-{run}-0-1"])
        row = cur.fetchone()
    if row is None or row[1:] != (2, 1, 1):
        raise SystemExit(f"the pgbench script did not write a consistent sale: {row}")


# --- 2. the endpoint under load ----------------------------------------------------------------


def client_main(index: int, port: int, store: str, api_key: str, members: list[int], run: str,
                start: float, measure_from: float, stop: float, results) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (terminate)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    rng = random.Random(f"{run}-{index}")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}",
               "Host": f"127.0.0.1:{port}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    reused = fresh = 0
    cpu0 = None
    seq = 0
    while time.monotonic() < start:
        time.sleep(0.001)
    while True:
        now = time.monotonic()
        if now >= stop:
            break
        if cpu0 is None and now >= measure_from:
            cpu0 = time.process_time()
        seq += 1
        payload = json.dumps(make_sale(rng, store, members, f"api-{run}-{index}-{seq}")).encode()
        if conn.sock is None:
            fresh += 1
        else:
            reused += 1
        t0 = time.monotonic()
        try:
            conn.request("POST", PATH, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
            if response.will_close:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status, data = 0, repr(exc).encode()
        t1 = time.monotonic()
        if t0 >= measure_from:
            latencies.append(t1 - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if not 200 <= status < 300 and len(errors) < 3:
                errors.append(f"{status} {data[:300]!r}")
    cpu = time.process_time() - (cpu0 if cpu0 is not None else time.process_time())
    conn.close()
    results.put({"index": index, "latencies": latencies, "statuses": statuses, "errors": errors,
                 "cpu": cpu, "reused": reused, "fresh": fresh})


@dataclass
class Figures:
    label: str
    clients: int
    count: int
    seconds: float
    latencies_ms: list[float]
    failures: int
    cpu: dict[str, float] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def tps(self) -> float:
        return self.count / self.seconds

    def pct(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


class Gunicorn:
    def __init__(self, workers: int, db: Db, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        env = dict(os.environ, DEBUG="0", SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1",
                   SECURE_SSL_REDIRECT="0", DATABASE_URL=db.url)
        env.pop("DJANGO_SETTINGS_MODULE", None)  # config.wsgi picks config.settings
        self.log_file = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "config.wsgi", "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped by us, not by Ctrl-C
        )

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}:\n"
                                 + self.log_path.read_text()[-3000:])
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", PATH, headers={"Host": f"127.0.0.1:{self.port}"})
                conn.getresponse().read()
                conn.close()
                if len(self.workers()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f}s; see {self.log_path}")

    def workers(self) -> list[int]:
        return proc_children(self.proc.pid)

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()


def postmaster_pid() -> int | None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (backend,) = cur.fetchone()
    try:
        with open(f"/proc/{backend}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ValueError):
        return None  # a server on another machine: no CPU figures for it


def activity_elsewhere(db: Db) -> int:
    """Sessions busy in other databases of the same server (they share its CPU and WAL)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND datname IS DISTINCT FROM %s AND pid <> pg_backend_pid()", [db.name])
        (n,) = cur.fetchone()
    return n


def checkpoint() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")
    connection.close()  # no idle Django connection of ours during the runs


def run_endpoint(args, db: Db, prep: Prepared, run: str, state: dict) -> Figures:
    log(f"starting gunicorn ({args.workers} workers)")
    gunicorn = Gunicorn(args.workers, db, RESULTS / "sale_api.gunicorn.log")
    state["gunicorn"] = gunicorn
    gunicorn.wait_ready(args.workers)
    pm = postmaster_pid()
    elsewhere = activity_elsewhere(db)
    checkpoint()
    log(f"gunicorn on 127.0.0.1:{gunicorn.port}; {args.clients} client processes, "
        f"{args.warmup:g}s warm-up + {args.seconds:g}s measured")

    ctx = mp.get_context("fork")
    results = ctx.Queue()
    start = time.monotonic() + 1.0
    measure_from = start + args.warmup
    stop = measure_from + args.seconds
    procs = [ctx.Process(target=client_main, daemon=True,
                         args=(i, gunicorn.port, prep.store, prep.api_key, prep.members, run, start,
                               measure_from, stop, results))
             for i in range(args.clients)]
    state["clients"] = procs
    for p in procs:
        p.start()

    profiler = None
    time.sleep(max(0.0, measure_from - time.monotonic()))
    cpu0 = {"gunicorn": gunicorn.cpu(), "postgres": tree_cpu(pm) if pm else 0.0}
    if args.profile:
        profiler = start_profiler(gunicorn.workers(), args.seconds)
    time.sleep(max(0.0, stop - time.monotonic()))
    cpu1 = {"gunicorn": gunicorn.cpu(), "postgres": tree_cpu(pm) if pm else 0.0}
    load_after = os.getloadavg()[0]

    collected = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    profile_text = finish_profiler(profiler) if profiler else ""
    gunicorn.stop()
    state.pop("gunicorn", None)

    latencies = sorted(x * 1000 for c in collected for x in c["latencies"])
    statuses: dict[int, int] = {}
    for c in collected:
        for status, n in c["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    failures = sum(n for s, n in statuses.items() if not 200 <= s < 300)
    errors = [e for c in collected for e in c["errors"]]
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
    cpu["client"] = sum(c["cpu"] for c in collected)
    fig = Figures("endpoint (HTTP)", args.clients, len(latencies), args.seconds, latencies,
                  failures, cpu)
    fig.extra["load"] = f"{load_after:.2f}"
    fig.extra["elsewhere"] = str(elsewhere)
    fig.extra["statuses"] = ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items()))
    reused = sum(c["reused"] for c in collected)
    fresh = sum(c["fresh"] for c in collected)
    fig.extra["connections"] = f"{fresh:,} opened, {reused:,} requests on a kept-alive one"
    if errors:
        fig.extra["errors"] = "\n".join(errors)
    if profile_text:
        fig.extra["profile"] = profile_text
    return fig


# --- optional: py-spy on the workers -----------------------------------------------------------


def start_profiler(pids: list[int], seconds: float):
    exe = shutil.which("py-spy", path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    if not exe:
        log("--profile: py-spy not found (pip install py-spy into the venv); skipping")
        return None
    for old in RESULTS.glob("sale_api.pyspy.*.txt"):
        old.unlink()
    procs = []
    for pid in pids:
        out = RESULTS / f"sale_api.pyspy.{pid}.txt"
        procs.append((out, subprocess.Popen(
            [exe, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200", "-f", "raw",
             "-o", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    return procs


def finish_profiler(procs) -> str:
    stacks: dict[str, int] = {}
    for out, proc in procs:
        proc.wait(timeout=120)
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack:
                stacks[stack] = stacks.get(stack, 0) + int(count)
    return summarise_stacks(stacks)


LAYERS = [  # (label, a frame that marks it); inclusive shares of the samples
    ("request (Django handler, all of it)", "get_response (django/core/handlers/base.py"),
    ("  DRF view dispatch", "dispatch (rest_framework/views.py"),
    ("    authentication (API key lookup)", "authenticate (loyalty/api/auth.py"),
    ("    throttle", "allow_request (loyalty/api/auth.py"),
    ("    input validation (serializer)", "is_valid (rest_framework/serializers.py"),
    ("    record_sale (services + their SQL)", "record_sale (loyalty/intake.py"),
    ("      order_record_sale", "order_record_sale (members/services/orders.py"),
    ("      points_earn_for_sale", "points_earn_for_sale (points/services.py"),
    ("    output serialisation (+ lines query)", "outcome_body (loyalty/api/orders.py"),
    ("    JSON rendering", "render (rest_framework/renderers.py"),
    ("  Django ORM: building SQL (as_sql)", "as_sql (django/db/models/sql/compiler.py"),
    ("  psycopg execute (send, wait on PostgreSQL, adapt)", "execute (psycopg/cursor.py"),
    ("  transaction control (atomic)", "(django/db/transaction.py"),
    ("gunicorn: reading the request / writing", "(gunicorn/http/"),
]


def summarise_stacks(stacks: dict[str, int]) -> str:
    """Where the workers' samples fall: inclusive shares of a few layers, self time by
    package, and the top self-time frames."""
    total = sum(stacks.values())
    if not total:
        return ""
    lines = [f"py-spy: {total:,} samples of the workers (waiting for a connection left out; "
             "psycopg's wait on PostgreSQL is counted, under psycopg)"]
    for label, needle in LAYERS:
        n = sum(c for st, c in stacks.items() if needle in st)
        lines.append(f"  {100 * n / total:5.1f}%  {label}")
    by_package: dict[str, int] = {}
    selfs: dict[str, int] = {}
    for stack, n in stacks.items():
        leaf = stack.split(";")[-1]
        selfs[leaf] = selfs.get(leaf, 0) + n
        m = re.search(r"\(([^/:)]+)", leaf)
        pkg = m.group(1) if m and "/" in leaf else "(stdlib / other)"
        by_package[pkg] = by_package.get(pkg, 0) + n
    lines.append("  self time by package: " + ", ".join(
        f"{pkg} {100 * n / total:.0f}%" for pkg, n in sorted(by_package.items(), key=lambda kv: -kv[1])[:9]))
    lines.append("  top self-time frames:")
    for leaf, n in sorted(selfs.items(), key=lambda kv: -kv[1])[:10]:
        lines.append(f"    {100 * n / total:5.1f}%  {leaf[:110]}")
    return "\n".join(lines)


# --- 3b'. the plans of the request's statements --------------------------------------------------


def explain(stmts: list[Stmt]) -> list[str]:
    """EXPLAIN ANALYZE the request's reads and updates again, in a transaction that is rolled
    back: per statement its execution time and scans, flagged when a scan reads many rows
    to return few (a missing index, or a plan misled by statistics)."""
    from django.db import connection, transaction

    out = []
    with transaction.atomic(), connection.cursor() as cur:
        for number, stmt in enumerate(stmts, 1):
            if stmt.template is None or not stmt.sql.lstrip().upper().startswith(("SELECT", "UPDATE")):
                continue
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + stmt.sql)
            (result,) = cur.fetchone()
            plan = result[0] if isinstance(result, list) else json.loads(result)[0]
            scans, removed = [], 0
            todo = [plan["Plan"]]
            while todo:
                node = todo.pop()
                todo.extend(node.get("Plans", []))
                removed += node.get("Rows Removed by Filter", 0)
                if "Relation Name" in node:
                    via = f" using {node['Index Name']}" if "Index Name" in node else ""
                    scans.append(f"{node['Node Type']}{via} on {node['Relation Name']}")
            flag = "   <-- reads many rows to find few" if removed > 100 else ""
            filtered = f", {removed:,} rows filtered away" if removed else ""
            out.append(f"  {number:2d}. {plan['Execution Time']:7.3f} ms  "
                       f"{'; '.join(scans) or '-'}{filtered}{flag}")
        transaction.set_rollback(True)
    connection.close()
    return out


# --- 3c. pgbench --------------------------------------------------------------------------------


def pgbench_path() -> str:
    found = shutil.which("pgbench") or next(iter(sorted(glob.glob(
        "/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None)
    if not found:
        raise SystemExit("pgbench not found (apt-get install postgresql-client)")
    return found


def run_pgbench(args, db: Db, script: Path, clients: int, run: str) -> Figures:
    pm = postmaster_pid()
    elsewhere = activity_elsewhere(db)
    checkpoint()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [pgbench_path(), "-n", *db.pgbench_args(), "-c", str(clients),
               "-j", str(min(2, clients)), "-T", str(int(args.seconds)), "-f", str(script), "-r",
               "-D", f"run={run}", "-D", "seq=0", "-l", f"--log-prefix={tmp}/log", db.name]
        log("pgbench " + " ".join(cmd[1:]))
        cpu0 = {"postgres": tree_cpu(pm) if pm else 0.0,
                "client": _children_cpu()}
        done = subprocess.run(cmd, env=db.env(), capture_output=True, text=True)
        cpu1 = {"postgres": tree_cpu(pm) if pm else 0.0,
                "client": _children_cpu()}
        load_after = os.getloadavg()[0]
        if done.returncode != 0:
            raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        latencies = []
        for path in glob.glob(f"{tmp}/log*"):
            with open(path) as f:
                for line in f:
                    latencies.append(int(line.split()[2]) / 1000)  # µs -> ms
    out = done.stdout
    count = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    failed_m = re.search(r"number of failed transactions: (\d+)", out)
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    fig = Figures("pgbench (same SQL)", clients, count, count / tps if tps else args.seconds,
                  sorted(latencies), int(failed_m.group(1)) if failed_m else 0,
                  {k: cpu1[k] - cpu0[k] for k in cpu0})
    fig.extra["load"] = f"{load_after:.2f}"
    fig.extra["elsewhere"] = str(elsewhere)
    fig.extra["pgbench tps line"] = re.search(r"tps = .*", out).group(0)
    per_stmt = []
    in_stmts = False
    for line in out.splitlines():
        if line.startswith("statement latencies"):
            in_stmts = True
            continue
        if in_stmts:
            m = re.match(r"\s+([\d.]+)\s+(\d+)\s+(.*)$", line)
            if m:
                per_stmt.append((float(m.group(1)), m.group(3)))
    fig.extra["per statement"] = per_stmt
    fig.extra["raw"] = out
    return fig


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- 4. the report ----------------------------------------------------------------------------


def report(args, figs: list[Figures], stmts: list[Stmt], labels: list[str], plans: list[str],
           store: str, started: str, load_before: str) -> str:
    endpoint, pg_same = figs[0], figs[1]
    n_total = len(stmts)
    n_tx = sum(1 for s in stmts if s.sql in {"BEGIN", "COMMIT", "ROLLBACK"}
               or s.sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")))
    cores = os.cpu_count() or 1
    lines = [
        f"POST {PATH} — endpoint vs the same SQL in pgbench",
        f"run {started}; {platform.node()}, {cores} CPUs, load average before {load_before}",
        f"gunicorn {args.workers} sync workers; {args.clients} clients; {args.seconds:g}s measured "
        f"(+{args.warmup:g}s warm-up for the endpoint); sales of 1–3 lines (captured request: 2)",
        "",
        f"SQL statements per sale request: {n_total} round trips "
        f"({n_total - n_tx} queries + {n_tx} BEGIN/SAVEPOINT/RELEASE/COMMIT)",
        "",
    ]
    head = f"{'':<26}" + "".join(f"{f.label:>22}" for f in figs)
    lines.append(head)
    lines.append(f"{'':<26}" + "".join(f"{f'{f.clients} clients':>22}" for f in figs))

    def row(name, fn):
        lines.append(f"{name:<26}" + "".join(f"{fn(f):>22}" for f in figs))

    row("requests / transactions", lambda f: f"{f.count:,}")
    row("per second", lambda f: f"{f.tps:,.1f}")
    row("latency p50 ms", lambda f: f"{f.pct(50):.2f}")
    row("latency p90 ms", lambda f: f"{f.pct(90):.2f}")
    row("latency p99 ms", lambda f: f"{f.pct(99):.2f}")
    row("latency max ms", lambda f: f"{max(f.latencies_ms or [float('nan')]):.2f}")
    row("non-2xx / failed", lambda f: f"{f.failures:,}")
    for who, name in (("gunicorn", "gunicorn"), ("postgres", "PostgreSQL server*"),
                      ("client", "clients / pgbench")):
        row(f"CPU s: {name}", lambda f, w=who: f"{f.cpu[w]:.1f}" if w in f.cpu else "-")
    row("CPU ms/request: gunicorn", lambda f: f"{1000 * f.cpu['gunicorn'] / f.count:.2f}"
        if "gunicorn" in f.cpu and f.count else "-")
    row("CPU ms/request: PG*", lambda f: f"{1000 * f.cpu['postgres'] / f.count:.2f}"
        if f.count else "-")
    row("load average after", lambda f: f.extra.get("load", "-"))
    row("busy sessions elsewhere*", lambda f: f.extra.get("elsewhere", "-"))
    lines.append("* the whole server, all databases: other work on it (see the last row, counted "
                 "when the phase started) inflates these")
    lines.append("")
    ratio = endpoint.tps / pg_same.tps
    lines.append(f"ratio endpoint tps / pgbench tps ({endpoint.clients} vs {pg_same.clients} clients): "
                 f"{ratio:.3f}  (the endpoint does {100 * ratio:.1f}% of the database-only rate)")
    if len(figs) > 2:
        pg_w = figs[2]
        lines.append(f"ratio endpoint tps / pgbench tps at {pg_w.clients} clients "
                     f"(= gunicorn workers, the endpoint's real DB concurrency): "
                     f"{endpoint.tps / pg_w.tps:.3f}")
        service_ms = 1000 * args.workers / endpoint.tps  # per request, per worker
        db_ms = 1000 * pg_w.clients / pg_w.tps
        lines.append(f"per request in a worker: {service_ms:.2f} ms, of which the same SQL alone "
                     f"takes ~{db_ms:.2f} ms ({100 * db_ms / service_ms:.0f}%); "
                     f"~{service_ms - db_ms:.2f} ms is outside the database "
                     "(Python, Django, DRF, serialisation, HTTP)")
    lines.append(f"endpoint statuses: {endpoint.extra.get('statuses', '')}; connections: "
                 f"{endpoint.extra.get('connections', '')}")
    if "errors" in endpoint.extra:
        lines.append("first errors:\n" + endpoint.extra["errors"])
    lines.append("")
    lines.append(f"pgbench per-statement latency (ms, {pg_same.clients} clients):")
    for ms, cmd in pg_same.extra.get("per statement", []):
        lines.append(f"  {ms:8.3f}  {cmd[:110]}")
    if "profile" in endpoint.extra:
        lines.append("")
        lines.append("(--profile: py-spy sampled the workers during the run, so the endpoint "
                     "figures above are a little low)")
        lines.append(endpoint.extra["profile"])
    lines.append("")
    lines.append(f"plans of the request's reads and updates (EXPLAIN ANALYZE, store {store}, "
                 "rolled back), by statement number:")
    lines.extend(plans)
    lines.append("")
    lines.append("statements of one sale request, in order:")
    for i, label in enumerate(labels, 1):
        note = f"   -- {stmts[i - 1].note}" if stmts[i - 1].note else ""
        lines.append(f"  {i:2d}. {label[:150]}{'…' if len(label) > 150 else ''}{note}")
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first")
    parser.add_argument("--members", type=int, default=20_000, help="members to seed if none")
    parser.add_argument("--orders-per-member", type=float, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-worker-pgbench", action="store_true",
                        help="skip the extra pgbench run with as many clients as workers")
    parser.add_argument("--profile", action="store_true",
                        help="sample the gunicorn workers with py-spy during the endpoint run")
    args = parser.parse_args()
    if args.clients < 1 or args.workers < 1 or args.seconds < 1:
        parser.error("--clients, --workers and --seconds must be at least 1")

    url = os.environ.get("DATABASE_URL")
    if not url:
        parser.error("set DATABASE_URL (a PostgreSQL database of its own, e.g. "
                     "postgresql://postgres@127.0.0.1:5432/loyalty_bench_api)")
    db = Db.parse(url)
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1",
                      SECRET_KEY=SECRET_KEY)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    RESULTS.mkdir(parents=True, exist_ok=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C, even when started from a shell that ignores SIGINT in background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    state: dict = {}
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    load_before = load_average()
    run = datetime.now().strftime("%y%m%d%H%M%S")
    try:
        prep = prepare(args, db)

        log("capturing the SQL of one sale request")
        stmts, body, answer = capture(prep, run)
        script, labels = build_script(stmts, body, prep.member_range)
        script_path = RESULTS / "sale_api.pgbench.sql"
        script_path.write_text(script)
        (RESULTS / "sale_api.statements.sql").write_text(
            "".join(f"{s.sql.strip()};\n" for s in stmts))
        check_script(script_path, db, f"{run}c", prep.store)
        plans = explain(stmts)
        log(f"{len(stmts)} statements per request; pgbench script {script_path.relative_to(ROOT)}")

        figs = [run_endpoint(args, db, prep, run, state)]
        figs.append(run_pgbench(args, db, script_path, args.clients, run))
        if not args.no_worker_pgbench and args.workers != args.clients:
            figs.append(run_pgbench(args, db, script_path, args.workers, f"{run}w"))

        text = report(args, figs, stmts, labels, plans, prep.store, started, load_before)
        print()
        print(text, end="")
        (RESULTS / "sale_api.txt").write_text(text)
        log(f"written to {(RESULTS / 'sale_api.txt').relative_to(ROOT)}")
        from loyalty.services.api_keys import api_key_revoke
        api_key_revoke(key_id=prep.api_key_id)
        return 0 if figs[0].failures == 0 else 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for p in state.get("clients", []):
            if p.is_alive():
                p.terminate()
        if (gunicorn := state.get("gunicorn")) is not None:
            log("stopping gunicorn")
            gunicorn.stop()


if __name__ == "__main__":
    sys.exit(main())
