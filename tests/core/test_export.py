"""Every export writes text that would start a formula with a leading apostrophe, and numbers
and dates as typed values (core.export)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from import_export import fields, resources, widgets

from core.export import FormulaSafeResource, csv_stream, export_cell

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","点击")', "+86 138", "-1+1", "@SUM(A1)",
                                  "\tTAB", "\rCR"])
def test_text_that_starts_a_formula_gets_an_apostrophe(text):
    assert export_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["王芳", "10000001", "a=b", " =x", "", "1e30"])
def test_other_text_is_written_as_it_is(value):
    assert export_cell(value) == value


def test_numbers_and_dates_stay_typed_values():
    assert export_cell(-100) == -100
    assert export_cell(Decimal("-100.00")) == Decimal("-100.00")
    assert export_cell(-1.5) == -1.5
    assert export_cell(date(2026, 3, 14)) == date(2026, 3, 14)
    moment = datetime(2026, 3, 14, 2, 30, tzinfo=ZoneInfo("UTC"))
    assert export_cell(moment) == datetime(2026, 3, 14, 10, 30)  # Beijing time
    assert export_cell(None) == ""
    assert export_cell(True) is True


def test_csv_stream_writes_negative_numbers_unquoted_and_text_escaped():
    lines = list(csv_stream(["name", "points", "day"],
                            [["=1+1", -100, date(2026, 3, 14)], ["-100", Decimal("-2.50"), None]]))
    assert lines[0] == "\ufeff"
    text = "".join(lines[1:])
    assert text.splitlines() == ["name,points,day", "'=1+1,-100,2026-03-14", "'-100,-2.50,"]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'=1+1", "-100", "2026-03-14"]


class Line:
    def __init__(self, name, points, day):
        self.name, self.points, self.day = name, points, day


class LineResource(FormulaSafeResource, resources.Resource):
    name = fields.Field(attribute="name", column_name="name")
    points = fields.Field(attribute="points", column_name="points",
                          widget=widgets.IntegerWidget())
    day = fields.Field(attribute="day", column_name="day", widget=widgets.DateWidget())


def test_an_import_export_resource_escapes_text_and_keeps_numbers_typed():
    dataset = LineResource().export([Line("@cmd|' /C calc'!A0", -100, date(2026, 3, 14)),
                                     Line("王芳", 5, None)])
    assert list(dataset[0]) == ["'@cmd|' /C calc'!A0", -100, date(2026, 3, 14)]
    assert list(dataset[1]) == ["王芳", 5, ""]
    assert dataset.export("csv").splitlines()[1] == "'@cmd|' /C calc'!A0,-100,2026-03-14"


def _resource_classes(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _resource_classes(sub)


def test_every_import_export_resource_of_the_project_is_formula_safe():
    """A resource added later (an admin's export button) must derive from
    FormulaSafeResource: the export helper of every spreadsheet the back office writes."""
    project = {"core", "members", "points", "tiers", "campaigns", "loyalty", "config"}
    for config in apps.get_app_configs():
        if config.name.split(".")[0] in project:
            for module in ("admin", "resources"):
                try:
                    import_module(f"{config.name}.{module}")
                except ModuleNotFoundError:
                    pass
    ours = [cls for cls in _resource_classes(resources.Resource)
            if cls.__module__.split(".")[0] in project]
    unsafe = [f"{cls.__module__}.{cls.__qualname__}" for cls in ours
              if not issubclass(cls, FormulaSafeResource)]
    assert unsafe == []
