"""Reads of member statistics."""

from __future__ import annotations

from ..models import RfmSegment


def rfm_segment_name(code: str) -> str:
    """The name an operator reads for the RFM segment a member's statistics hold by code."""
    if not code:
        return "-"
    segment = RfmSegment.objects.filter(code=code).first()
    return segment.display_name if segment else code
