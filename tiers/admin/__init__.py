"""The tiers pages of the operator console, one module per feature; importing this package
registers them all."""

from __future__ import annotations

from . import benefits, growth, ladder, paid, settings  # noqa: F401  (registers their admins)
