"""Template filters for figures (registered as the `figures` library in TEMPLATES):
`{{ rate|percent }}` → 12.5%, `{{ total|number }}` → 12,345, `{{ amount|number:2 }}`."""

from __future__ import annotations

from django import template

from . import formats

register = template.Library()


@register.filter
def percent(value, places=1):
    return formats.percent(value, int(places))


@register.filter
def number(value, places=None):
    if value in (None, ""):
        return "-"
    return formats.number(value, None if places is None else int(places))
