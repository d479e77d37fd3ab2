"""Reads of segments: count, preview, export rows and membership — each one SQL statement
over members_segmentfacts, the narrow copy of what segments filter on, joined to
members_member only for the rows shown (closed members are never in a segment)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db import connection

from core.clock import local_date, resolve_now

from ..errors import MemberError, MemberErrorCode
from ..models import Member, Segment, SegmentSnapshot, SnapshotMember
from ..segment_expr import display_forms, hints, parse, to_sql


def segment_where(expression: str, *, now: datetime | None = None) -> tuple[str, list]:
    """The segment as a WHERE clause (with `f` for members_segmentfacts) and its parameters."""
    sql, params = to_sql(parse(expression), local_date(resolve_now(now)))
    return f"f.status <> 'closed' AND {sql}", params


def segment_hints(expression: str) -> list[str]:
    """Warnings about a valid definition (a region the table does not know), translated."""
    return [str(hint) for hint in hints(parse(expression))]


def segment_display(expressions: list[str]) -> list[str]:
    """Stored definitions as the operator reads them, with the tags' current names."""
    return display_forms(expressions)


def segment_count(expression: str, *, now: datetime | None = None) -> int:
    where, params = segment_where(expression, now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM members_segmentfacts f WHERE {where}", params)
        return cursor.fetchone()[0]


def segment_preview(expression: str, *, limit: int = 50,
                    now: datetime | None = None) -> list[Member]:
    where, params = segment_where(expression, now=now)
    return list(Member.objects.raw(
        f"""SELECT m.* FROM members_member m
            JOIN (SELECT f.member_id FROM members_segmentfacts f WHERE {where}
                  ORDER BY f.member_id LIMIT %s) chosen ON chosen.member_id = m.id
            ORDER BY m.id""",
        [*params, limit]).prefetch_related("home_store"))


def segment_export_rows(expression: str, *, now: datetime | None = None,
                        batch: int = 5000) -> Iterator[tuple]:
    """(id, member number, name, gender, region, home store code) for every member, read in
    keyset batches so an export of a million members holds one batch in memory."""
    where, params = segment_where(expression, now=now)
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT m.id, m.member_no, m.name, m.gender, m.region, s.code
                    FROM (SELECT f.member_id FROM members_segmentfacts f
                          WHERE {where} AND f.member_id > %s
                          ORDER BY f.member_id LIMIT %s) chosen
                    JOIN members_member m ON m.id = chosen.member_id
                    LEFT JOIN members_store s ON s.id = m.home_store_id
                    ORDER BY m.id""",
                [*params, after, batch])
            rows = cursor.fetchall()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def segment_contains(expression: str, member_id: int, *, now: datetime | None = None) -> bool:
    where, params = segment_where(expression, now=now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM members_segmentfacts f "
                       f"WHERE f.member_id = %s AND {where})",
                       [member_id, *params])
        return cursor.fetchone()[0]


def segment_by_code(code: str) -> Segment:
    segment = Segment.objects.filter(code=code).first()
    if segment is None:
        raise MemberError(MemberErrorCode.SEGMENT_NOT_FOUND, segment=code)
    return segment


def snapshot_contains(snapshot: SegmentSnapshot, member_id: int) -> bool:
    return SnapshotMember.objects.filter(snapshot=snapshot, member_id=member_id).exists()
