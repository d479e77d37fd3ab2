"""Segment writes: freezing a segment into a snapshot — the exact members at a moment, in
one INSERT … SELECT, so that a campaign reaches who was in it then, whatever changes after."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from core.clock import resolve_now

from ..models import Segment, SegmentSnapshot
from ..segments import segment_where


def segment_validate(*, expression: str, now: datetime | None = None) -> None:
    """Raises MemberError(invalid_segment) with the reason when the definition is wrong."""
    segment_where(expression, now=now)


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
