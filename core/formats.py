"""Figures as operators read them: numbers with thousands separators, ratios as percentages.

The settings turn on USE_THOUSAND_SEPARATOR, so every number a template or an admin list
shows is grouped. Where a number is not for reading — a form value, an id in a URL or an
attribute, an SVG coordinate — templates write it with `|unlocalize` and Python with str().
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats


def number(value: int | Decimal | None, places: int | None = None) -> str:
    """12345 → "12,345"; Decimal("1234.5"), places=2 → "1,234.50"; None → "-"."""
    if value is None:
        return "-"
    return formats.number_format(value, decimal_pos=places, force_grouping=True)


def percent(ratio: Decimal | float | None, places: int = 1) -> str:
    """A ratio as a percentage: Decimal("0.125") → "12.5%"; None (nothing to divide) → "-"."""
    if ratio is None:
        return "-"
    value = (Decimal(str(ratio)) * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{number(value, places)}%"
