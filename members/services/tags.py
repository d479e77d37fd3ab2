from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction

from core.clock import resolve_now

from ..errors import MemberError, MemberErrorCode
from ..models import MemberTag, Tag


def _tag(tag_id: int) -> Tag:
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is None:
        raise MemberError(MemberErrorCode.TAG_NOT_FOUND, tag=tag_id)
    return tag


def member_tags_add(*, tag_id: int, member_ids: Iterable[int], now: datetime | None = None) -> int:
    """Put a tag on many members in one statement; members who have it already are skipped.
    Returns how many members newly got the tag."""
    now = resolve_now(now)
    tag = _tag(tag_id)
    ids = sorted({int(i) for i in member_ids})
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO members_membertag (member_id, tag_id, added_at)
            SELECT m.id, %s, %s FROM members_member m WHERE m.id = ANY(%s)
            ON CONFLICT (member_id, tag_id) DO NOTHING
            """,
            [tag.pk, now, ids],
        )
        return cursor.rowcount


def member_tags_remove(*, tag_id: int, member_ids: Iterable[int]) -> int:
    tag = _tag(tag_id)
    ids = sorted({int(i) for i in member_ids})
    with transaction.atomic():
        deleted, _ = MemberTag.objects.filter(tag=tag, member_id__in=ids).delete()
    return deleted
