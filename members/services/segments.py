"""Segment writes: the form a definition is kept in (tags and stores by id), and freezing a
segment into a snapshot — the exact members at a moment, in one INSERT … SELECT, so that a
campaign reaches who was in it then, whatever changes after."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from core.clock import resolve_now

from ..models import Segment, SegmentSnapshot
from ..segment_expr import stored_form
from ..selectors.segments import segment_where


def segment_definition_store(*, expression: str) -> str:
    """The definition as a segment keeps it, or MemberError(invalid_segment) with the
    reason: tags (by code or name) and stores as ids, so that renaming a tag changes no
    segment. `tag:高消费 and store:SH001` is kept as `tag:#12 and store:#3`."""
    return stored_form(expression)


def segment_snapshot_take(*, segment_id: int, now: datetime | None = None) -> SegmentSnapshot:
    now = resolve_now(now)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        where, params = segment_where(segment.expression, now=now)
        snapshot = SegmentSnapshot.objects.create(segment=segment, expression=segment.expression,
                                                  taken_at=now, member_count=0)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO members_snapshotmember (snapshot_id, member_id)
                    SELECT %s, f.member_id FROM members_segmentfacts f WHERE {where}""",
                [snapshot.pk, *params])
            snapshot.member_count = cursor.rowcount
        snapshot.save(update_fields=["member_count"])
        return snapshot
