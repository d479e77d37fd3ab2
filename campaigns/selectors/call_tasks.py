"""Open clerk call tasks of a store: its members' sent `clerk_call` touches, oldest first."""

from __future__ import annotations

from ..models import Message


def call_tasks_open(*, store_id: int, limit: int = 50) -> list[Message]:
    return list(Message.objects.filter(channel="clerk_call", state="sent",
                                       member__home_store_id=store_id)
                .select_related("member", "campaign").order_by("sent_at", "id")[:limit])
