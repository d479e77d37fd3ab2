"""Reads of checkout holds."""

from __future__ import annotations

from ..models import (
    PointsHold,
)


def hold_for(*, hold_id: int, owner_id: int | None = None) -> PointsHold | None:
    """A checkout hold, or None when there is none (or it belongs to another integrator)."""
    holds = PointsHold.objects.filter(pk=hold_id)
    if owner_id is not None:
        holds = holds.filter(owner_id=owner_id)
    return holds.first()
