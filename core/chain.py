"""Hash chains for append-only ledgers: each entry carries the SHA-256 of its content and of
the previous entry of the same account, so a row altered, removed or slipped in by hand
breaks the chain where it happened.

A ledger describes its chain once (`Chain`: the entry table, the account column, the
columns that make an entry's content) and gets the same link in Python — for the posting
path that writes one entry at a time, under its account's lock — and in SQL — for set-based
jobs, which chain many entries in one statement (`chained_rows_sql`) and for the verifier,
which checks every link with one window function (`link_sql`). Both spell an entry's
content in one canonical form, so a hash computed by either is the hash the other computes
(the parity test in tests/core/test_chain.py):

    link = sha256(previous link (or the ledger's genesis) || utf-8 of the content)
    content = the columns in the chain's order, joined by "|", each written as
        NULL      → "~"
        integer   → its decimal digits ("-40")
        text      → "<length in characters>:<text>"   (so "|" inside text is unambiguous)
        timestamp → microseconds since 1970-01-01 UTC

The chain order is the entries' id order within an account: every writer holds the
account's row lock while it draws ids and writes, so a later entry of one account always
has a greater id. The account row keeps the head (the last link) in a `bytea` column, which
the writer already updates with the balances, so chaining costs the posting no statement.
The points ledger (`points.chain.ENTRY_CHAIN`) is one user; another ledger reuses this
module with its own `Chain`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

Kind = Literal["int", "text", "time"]


@dataclass(frozen=True)
class Chain:
    """One ledger's chain: `table` holds its entries, `account` names the column of the
    account an entry belongs to, `fields` the (column, kind) pairs of an entry's content,
    `head_table` / `head_column` where each account's last link is kept (keyed by the
    same column as `account`)."""

    ledger: str
    table: str
    account: str
    fields: tuple[tuple[str, Kind], ...]
    head_table: str
    head_column: str = "chain_head"
    hash_column: str = "hash"

    @property
    def genesis(self) -> bytes:
        """The link before an account's first entry."""
        return hashlib.sha256(f"{self.ledger} ledger genesis".encode()).digest()

    # --- Python ----------------------------------------------------------------------------

    def content(self, values: Mapping[str, Any]) -> str:
        return "|".join(_canonical(values[column], kind) for column, kind in self.fields)

    def link(self, previous: bytes | None, values: Mapping[str, Any]) -> bytes:
        """The hash of an entry whose account's head was `previous` (None: no entry yet)."""
        head = bytes(previous) if previous is not None else self.genesis
        return hashlib.sha256(head + self.content(values).encode()).digest()

    # --- SQL -------------------------------------------------------------------------------

    def content_sql(self, alias: str) -> str:
        return " || '|' || ".join(_canonical_sql(f"{alias}.{column}", kind)
                                  for column, kind in self.fields)

    def link_sql(self, previous: str, alias: str) -> str:
        """SQL for the hash of the row `alias` after the link `previous` (a bytea
        expression; NULL means the genesis)."""
        return (f"sha256(COALESCE({previous}, '\\x{self.genesis.hex()}'::bytea) "
                f"|| convert_to({self.content_sql(alias)}, 'UTF8'))")

    def chained_rows_sql(self, source: str, name: str) -> str:
        """CTEs for a set-based job: `source` is a CTE with the account column and every
        content column of the rows to insert. Defines `<name>` with those columns plus `id`
        (drawn from the table's sequence) and `hash` (chained after each account's head
        and after each other, in id order), for the job's INSERT. The statement must begin
        `WITH RECURSIVE` and hold the accounts' locks."""
        acc = self.account
        return f"""
{name}_numbered AS (
    SELECT n.*, row_number() OVER (PARTITION BY n.{acc} ORDER BY n.id) AS chain_rn
    FROM (SELECT nextval(pg_get_serial_sequence('{self.table}', 'id')) AS id, s.*
          FROM (SELECT * FROM {source} ORDER BY {acc}) s) n
), {name}_links AS (
    SELECT c.id, c.{acc}, c.chain_rn, {self.link_sql(f"h.{self.head_column}", "c")} AS hash
    FROM {name}_numbered c JOIN {self.head_table} h ON h.{acc} = c.{acc}
    WHERE c.chain_rn = 1
    UNION ALL
    SELECT c.id, c.{acc}, c.chain_rn, {self.link_sql("p.hash", "c")}
    FROM {name}_links p JOIN {name}_numbered c
      ON c.{acc} = p.{acc} AND c.chain_rn = p.chain_rn + 1
), {name} AS (
    SELECT c.*, l.hash FROM {name}_numbered c JOIN {name}_links l ON l.id = c.id
)"""

    def running_link_sql(self, alias: str) -> str:
        """The hash of each row of `alias` chained from its account's genesis over the rows
        before it: a window expression to use with `OVER (PARTITION BY <account> ORDER BY
        id)`, after `install_running_link` on the same connection."""
        return (f"pg_temp.chain_links('\\x{self.genesis.hex()}'::bytea, "
                f"convert_to({self.content_sql(alias)}, 'UTF8'))")

    def rechain(self, cursor, *, after: int = 0, upto: int | None = None) -> int:
        """Give every entry of the accounts in (after, upto] its hash from its account's
        genesis, and each such account its head: what a migration runs over the rows that
        existed before the chain (its table's append-only guard lifted by the caller), and
        the benchmark over rows it seeded. One UPDATE with a running aggregate (a
        temporary one: nothing stays in the schema). Returns the rows chained."""
        acc, table = self.account, self.table
        install_running_link(cursor)
        # positional parameters: pgtrigger.ignore prefixes its own to each statement
        bound, params = ("AND e.{acc} <= %s", [after, upto]) if upto is not None else ("", [after])
        cursor.execute(f"""
            UPDATE {table} t SET {self.hash_column} = x.hash
            FROM (SELECT e.id, {self.running_link_sql("e")}
                         OVER (PARTITION BY e.{acc} ORDER BY e.id) AS hash
                  FROM {table} e WHERE e.{acc} > %s {bound.format(acc=acc)}) x
            WHERE t.id = x.id""", params)
        chained = cursor.rowcount
        cursor.execute(f"""
            UPDATE {self.head_table} h SET {self.head_column} = l.hash
            FROM (SELECT DISTINCT ON (e.{acc}) e.{acc}, e.{self.hash_column} AS hash
                  FROM {table} e WHERE e.{acc} > %s {bound.format(acc=acc)}
                  ORDER BY e.{acc}, e.id DESC) l
            WHERE h.{acc} = l.{acc}""", params)
        return chained

    def heads_sql(self, rows: str) -> str:
        """A subquery of each account's new head among `rows` (which return the account
        column, id and hash): the hash of its last row."""
        return (f"(SELECT DISTINCT ON ({self.account}) {self.account}, hash FROM ({rows}) r "
                f"ORDER BY {self.account}, id DESC)")


def install_running_link(cursor) -> None:
    """`pg_temp.chain_links(start, content)`: a running aggregate whose value at each row is
    the link after the rows before it (the first from `start`). Temporary: this session
    only, nothing stays in the schema."""
    cursor.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.chain_step(state bytea, start bytea, "
        "content bytea) RETURNS bytea LANGUAGE sql IMMUTABLE "
        "AS $$ SELECT sha256(COALESCE(state, start) || content) $$")
    cursor.execute("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                   "WHERE p.proname = 'chain_links' AND n.oid = pg_my_temp_schema()")
    if cursor.fetchone() is None:
        cursor.execute("CREATE AGGREGATE pg_temp.chain_links(bytea, bytea) "
                       "(SFUNC = pg_temp.chain_step, STYPE = bytea)")


def _canonical(value: Any, kind: Kind) -> str:
    if value is None:
        return "~"
    if kind == "int":
        return str(int(value))
    if kind == "text":
        return f"{len(value)}:{value}"
    if value.tzinfo is None:
        raise ValueError("a chained time must be aware")
    return str((value - EPOCH) // MICROSECOND)


def _canonical_sql(column: str, kind: Kind) -> str:
    if kind == "int":
        return f"COALESCE({column}::text, '~')"
    if kind == "text":
        return f"COALESCE(length({column})::text || ':' || {column}, '~')"
    return f"COALESCE(((extract(epoch FROM {column}) * 1000000)::bigint)::text, '~')"
