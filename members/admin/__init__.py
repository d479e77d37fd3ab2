"""The members pages of the operator console, one module per feature; importing this package
registers them all."""

from __future__ import annotations

from . import (  # noqa: F401  (registers their admins)
    activity,
    imports,
    members,
    orders,
    search,
    segments,
    settings,
    stats,
    stores,
    tags,
)
