"""The points pages of the operator console, one module per feature; importing this package
registers them all."""

from __future__ import annotations

from . import (  # noqa: F401  (registers their admins)
    coupons,
    gift_cards,
    holds,
    ledger,
    liability,
    partners,
    rewards,
    rules,
    settings,
    stored_value,
    transfers,
)
