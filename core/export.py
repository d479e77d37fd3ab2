"""Cells of every CSV or spreadsheet the back office writes (formula injection).

A member who registers as `=HYPERLINK("http://…","点击")` becomes a live formula in the
operator's spreadsheet when a segment is exported. So text that a spreadsheet would read as
a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — is written with a
leading apostrophe, which spreadsheets show as text and do not evaluate (OWASP, "CSV
injection"). Numbers and dates are not text: they are written as typed values, so −100 stays
the number −100 (unquoted in CSV, a number cell in a workbook) and is never prefixed.

Every export goes through `export_cell`: the streaming CSV writer here (`csv_stream`) and,
for django-import-export resources, `FormulaSafeResource`, which each resource of the
project derives from (tests/core/test_export.py checks that none is left out).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | Decimal | date | datetime | bool | None


def export_cell(value: object) -> Cell:
    """One cell as an export writes it: None as empty; numbers, dates and booleans as they
    are (a moment in Beijing time, without its offset, which spreadsheets cannot read);
    anything else as text, with a leading apostrophe where it would start a formula."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, Decimal, date)):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.localtime(value).replace(tzinfo=None)
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file that hands back what is written to it: csv.writer then yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """A CSV export line by line, for a StreamingHttpResponse: a byte-order mark (so that
    spreadsheet programs read UTF-8, Chinese names included), the header, then each row,
    every cell through export_cell."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([export_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([export_cell(value) for value in row])


class FormulaSafeResource:
    """Mixin for django-import-export resources (put it first): each exported field is
    taken as its native value — numbers and dates stay typed in XLSX — and passed through
    export_cell."""

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **{**kwargs, "force_native_type": True})
        return export_cell(value)
