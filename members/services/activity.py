from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction

from core.clock import resolve_now

from ..errors import ActivityError, ActivityErrorCode, MemberError, MemberErrorCode
from ..models import ActivityKind, Member, MemberActivity

MAX_PAYLOAD = 16 * 1024


@dataclass(frozen=True)
class ActivityInput:
    member_id: int
    kind: str
    source_key: str
    occurred_at: datetime
    name: str = ""
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityOutcome:
    activity: MemberActivity
    created: bool


def _same(row: MemberActivity, data: ActivityInput) -> bool:
    return (row.member_id == data.member_id and row.kind == data.kind
            and row.name == (data.name or "") and row.occurred_at == data.occurred_at
            and row.payload == (data.payload or {}))


def activity_record(*, data: ActivityInput, now: datetime | None = None) -> ActivityOutcome:
    """Record a behaviour event once: its source key (the event id) is unique, so the same
    event sent twice is stored once and answers the first record; the same id with other
    contents is refused."""
    now = resolve_now(now)
    key = (data.source_key or "").strip()
    if not key or len(key) > 128:
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY, reason="event id must be 1–128 characters")
    if data.kind not in ActivityKind.values:
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY, reason=f"unknown kind {data.kind!r}")
    if data.kind == ActivityKind.CUSTOM and not (data.name or "").strip():
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY, reason="a custom event needs a name")
    if len(data.name or "") > 64:
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY, reason="name is at most 64 characters")
    if data.occurred_at.tzinfo is None:
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY, reason="occurred_at needs a time zone")
    if not isinstance(data.payload, dict):
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY, reason="payload must be an object")
    try:  # as it will read back from the database, so a replay compares equal
        text = json.dumps(data.payload, allow_nan=False)
        payload = json.loads(text)
    except (TypeError, ValueError):
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY,
                            reason="payload must be plain JSON") from None
    if "\\u0000" in text:  # PostgreSQL's jsonb cannot hold NUL
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY,
                            reason="payload may not contain NUL characters")
    if len(text) > MAX_PAYLOAD:
        raise ActivityError(ActivityErrorCode.INVALID_ACTIVITY,
                            reason=f"payload is at most {MAX_PAYLOAD // 1024} KB")
    data = ActivityInput(member_id=data.member_id, kind=data.kind, source_key=key,
                         occurred_at=data.occurred_at, name=(data.name or "").strip(),
                         payload=payload)

    def existing() -> ActivityOutcome | None:
        row = MemberActivity.objects.filter(source_key=key).first()
        if row is None:
            return None
        if not _same(row, data):
            raise ActivityError(ActivityErrorCode.SOURCE_KEY_CONFLICT, source_key=key)
        return ActivityOutcome(activity=row, created=False)

    with transaction.atomic():
        if (found := existing()) is not None:
            return found
        member = Member.objects.filter(pk=data.member_id).only("pk", "status").first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        if member.status == Member.Status.CLOSED:
            raise MemberError(MemberErrorCode.MEMBER_CLOSED)
        row = MemberActivity(member_id=member.pk, kind=data.kind, name=data.name,
                             occurred_at=data.occurred_at, payload=data.payload,
                             source_key=key, recorded_at=now)
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            if (found := existing()) is not None:
                return found
            raise
        return ActivityOutcome(activity=row, created=True)
