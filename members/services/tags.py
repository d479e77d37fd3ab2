"""Every tag change — operator, import, API, rule or system (tiers, preferences) — goes
through here. The service names the cause and the time; the triggers on members_membertag
(migrations 0004, 0005) write the history row and keep members_segmentfacts.tag_ids in
step, in the same statement, whoever the writer is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db import OperationalError, connection, transaction
from django.db.models import QuerySet
from psycopg import errors as pg_errors

from core.clock import resolve_now

from ..errors import MemberError, MemberErrorCode
from ..models import Member, Tag, TagChange

Cause = TagChange.Cause
# causes an operator or integrator acts under: only manual tags may be changed this way
HAND_CAUSES = frozenset({Cause.MANUAL, Cause.IMPORT, Cause.API})


@dataclass(frozen=True)
class TagSync:
    added: int
    removed: int


T = TypeVar("T")


def retry_deadlocks(step: Callable[[], T], attempts: int = 3) -> T:
    """Run one chunk of a nightly job, again if PostgreSQL chose it as a deadlock victim (a
    sale tagging one of the chunk's members at the same moment). Only at the top level: a
    deadlock inside a caller's transaction has aborted that transaction, so it is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return step()
        except OperationalError as exc:
            deadlock = isinstance(exc.__cause__, pg_errors.DeadlockDetected)
            if not deadlock or attempt == attempts or connection.in_atomic_block:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def tag_writable(tag_id: int, cause: str) -> Tag:
    """The tag a write of this cause may change: it exists, and a hand-made change (the
    admin, the API, an import) touches only a manual tag."""
    tag = _tag(tag_id)
    _check_cause(tag, cause)
    return tag


def _tag(tag_id: int) -> Tag:
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is None:
        raise MemberError(MemberErrorCode.TAG_NOT_FOUND, tag=tag_id)
    return tag


def _check_cause(tag: Tag, cause: str) -> None:
    if cause not in Cause.values:
        raise ValueError(f"unknown tag change cause {cause!r}")
    if cause in HAND_CAUSES and tag.kind != Tag.Kind.MANUAL:
        raise MemberError(MemberErrorCode.TAG_NOT_MANUAL, tag=tag.code)


def _mark(cursor, cause: str, now: datetime | None) -> None:
    """Tell the triggers why and when, for this transaction's tag writes only."""
    cursor.execute("SELECT set_config('loyalty.tag_cause', %s, true), "
                   "set_config('loyalty.tag_at', %s, true)",
                   [str(cause), now.isoformat() if now else ""])


def _unmark(cursor) -> None:
    cursor.execute("SELECT set_config('loyalty.tag_cause', '', true), "
                   "set_config('loyalty.tag_at', '', true)")


@contextmanager
def tag_writes(cursor, *, cause: str, now: datetime) -> Iterator[None]:
    """For set-based SQL of a layer above that writes `members_membertag` itself (the tier
    engine swaps the tier tags of a whole chunk in one statement): the history triggers
    record these writes with this cause and at the service's `now`, not the database
    clock. Use inside the writing transaction."""
    _mark(cursor, cause, now)
    yield
    _unmark(cursor)


def member_tags_add(*, tag_id: int, member_ids: Iterable[int] | None = None,
                    members: QuerySet[Member] | None = None, cause: str = Cause.SYSTEM,
                    now: datetime | None = None) -> int:
    """Put a tag on many members in one statement — a list of ids, or a whole filtered
    queryset (an admin selection of 100k members) as a subquery, never a Python loop.
    Members who have the tag already are skipped; returns how many newly got it."""
    now = resolve_now(now)
    tag = _tag(tag_id)
    _check_cause(tag, cause)
    if members is not None:
        sql, params = members.order_by().values("pk").query.sql_with_params()
        source, source_params = f"SELECT m.id FROM members_member m WHERE m.id IN ({sql})", list(params)
    else:
        ids = sorted({int(i) for i in member_ids or ()})
        if not ids:
            return 0
        source, source_params = "SELECT m.id FROM members_member m WHERE m.id = ANY(%s)", [ids]
    with transaction.atomic(), connection.cursor() as cursor:
        _mark(cursor, cause, now)
        cursor.execute(
            f"""
            INSERT INTO members_membertag (member_id, tag_id, added_at)
            SELECT s.id, %s, %s FROM ({source}) s ORDER BY s.id
            ON CONFLICT (member_id, tag_id) DO NOTHING
            """,
            [tag.pk, now, *source_params],
        )
        added = cursor.rowcount
        _unmark(cursor)
        return added


def member_tags_remove(*, tag_id: int, member_ids: Iterable[int] | None = None,
                       members: QuerySet[Member] | None = None, cause: str = Cause.SYSTEM,
                       now: datetime | None = None) -> int:
    """Take a tag off many members in one statement; returns how many had it."""
    now = resolve_now(now)
    tag = _tag(tag_id)
    _check_cause(tag, cause)
    if members is not None:
        sql, params = members.order_by().values("pk").query.sql_with_params()
        where, where_params = f"member_id IN ({sql})", list(params)
    else:
        ids = sorted({int(i) for i in member_ids or ()})
        if not ids:
            return 0
        # a join on the unnested ids, not `member_id = ANY(%s)`: for a list of 100k ids the
        # latter becomes a filter that scans the whole array for each row of the tag (16 s)
        where, where_params = ("member_id IN (SELECT unnest(%s::bigint[]))", [ids])
    with transaction.atomic(), connection.cursor() as cursor:
        _mark(cursor, cause, now)
        cursor.execute(f"DELETE FROM members_membertag WHERE tag_id = %s AND {where}",
                       [tag.pk, *where_params])
        removed = cursor.rowcount
        _unmark(cursor)
        return removed


def member_tags_sync(*, desired_sql: str, params: list, tag_ids: list[int],
                     member_from: int, member_to: int, cause: str,
                     now: datetime | None = None) -> TagSync:
    """Make the tags `tag_ids` of the members with ids in [member_from, member_to) exactly
    the (member_id, tag_id) pairs `desired_sql` selects: add the missing, remove the rest,
    in one statement. Rule tags and preference tags refresh through this, per chunk of
    members at night and for one member on an event."""
    now = resolve_now(now)
    if not tag_ids:
        return TagSync(0, 0)
    with transaction.atomic(), connection.cursor() as cursor:
        _mark(cursor, cause, now)
        cursor.execute(
            f"""
            WITH desired AS MATERIALIZED ({desired_sql}),
            added AS (
                INSERT INTO members_membertag (member_id, tag_id, added_at)
                SELECT member_id, tag_id, %s FROM desired ORDER BY member_id
                ON CONFLICT (member_id, tag_id) DO NOTHING
                RETURNING 1
            ), removed AS (
                -- EXCEPT (a hash or sort set operation) rather than NOT EXISTS: an anti
                -- join against the CTE degrades to a nested loop when the planner's row
                -- estimate for the tag is stale, as it is right after a large refresh
                DELETE FROM members_membertag mt
                USING (SELECT member_id, tag_id FROM members_membertag
                       WHERE member_id >= %s AND member_id < %s AND tag_id = ANY(%s)
                       EXCEPT SELECT member_id, tag_id FROM desired) gone
                WHERE mt.member_id = gone.member_id AND mt.tag_id = gone.tag_id
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM removed)
            """,
            [*params, now, member_from, member_to, list(tag_ids)],
        )
        added, removed = cursor.fetchone()
        _unmark(cursor)
        return TagSync(added, removed)
