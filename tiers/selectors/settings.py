"""The tiers' settings as the services read them."""

from __future__ import annotations

from ..models import (
    TierSettings,
)


def tier_settings() -> TierSettings:
    """The settings row, or its defaults when none was saved yet. Never inserts it: an
    insert inside the intake's transaction would make every concurrent intake wait on the
    singleton's unique index until that transaction ends."""
    return TierSettings.objects.filter(singleton=True).first() or TierSettings()
