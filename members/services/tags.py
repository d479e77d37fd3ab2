from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import QuerySet

from core.clock import resolve_now

from ..errors import MemberError, MemberErrorCode
from ..models import Member, MemberTag, Tag


def _tag(tag_id: int) -> Tag:
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is None:
        raise MemberError(MemberErrorCode.TAG_NOT_FOUND, tag=tag_id)
    return tag


def member_tags_add(*, tag_id: int, member_ids: Iterable[int] | None = None,
                    members: QuerySet[Member] | None = None, now: datetime | None = None) -> int:
    """Put a tag on many members in one statement — a list of ids, or a whole filtered
    queryset (an admin selection of 100k members) as a subquery, never a Python loop.
    Members who have the tag already are skipped; returns how many newly got it."""
    now = resolve_now(now)
    tag = _tag(tag_id)
    if members is not None:
        sql, params = members.order_by().values("pk").query.sql_with_params()
        source, source_params = f"SELECT m.id FROM members_member m WHERE m.id IN ({sql})", list(params)
    else:
        ids = sorted({int(i) for i in member_ids or ()})
        if not ids:
            return 0
        source, source_params = "SELECT m.id FROM members_member m WHERE m.id = ANY(%s)", [ids]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO members_membertag (member_id, tag_id, added_at)
            SELECT s.id, %s, %s FROM ({source}) s
            ON CONFLICT (member_id, tag_id) DO NOTHING
            """,
            [tag.pk, now, *source_params],
        )
        return cursor.rowcount


def member_tags_remove(*, tag_id: int, member_ids: Iterable[int]) -> int:
    tag = _tag(tag_id)
    ids = sorted({int(i) for i in member_ids})
    with transaction.atomic():
        deleted, _ = MemberTag.objects.filter(tag=tag, member_id__in=ids).delete()
    return deleted
