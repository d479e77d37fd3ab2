"""A campaign as the trigger services see it, and an action that records what it was
asked to do — keeping, like the campaign's UNIQUE (campaign, occasion, member), each
member once per occasion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FakeCampaign:
    pk: int
    trigger_kind: str
    trigger_params: dict[str, Any] = field(default_factory=dict)


class RecordingAct:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, list[int]]] = []
        self.acted: set[tuple[int, str, int]] = set()

    def __call__(self, campaign, occasion: str, member_ids: list[int], now: datetime) -> int:
        self.calls.append((campaign.pk, occasion, list(member_ids)))
        new = {(campaign.pk, occasion, m) for m in member_ids} - self.acted
        self.acted |= new
        return len(new)

    def occasions(self, campaign_pk: int) -> list[tuple[str, int]]:
        return sorted((o, m) for c, o, m in self.acted if c == campaign_pk)
