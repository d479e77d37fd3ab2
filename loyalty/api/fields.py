"""Input fields that accept exactly what the published schema says, and input serializers
that refuse fields they do not know.

DRF's stock fields are lenient: `"10"` passes as an integer, `1` as a string, `"yes"` as a
boolean, `10.5` as an amount, `"2026-03-14 10:30"` as a date-time. A client generated from
the schema never sends those, and a fuzzer reading the schema expects them refused, so the
API's inputs use these fields. Each one carries the pattern the schema shows, and checks the
value against that same pattern (`schema.py` maps them to OpenAPI).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from django.core.validators import MaxLengthValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from core.text import CONTROL, control_characters
from core.text import MESSAGE as CONTROL_MESSAGE

# Characters that count as blank: controls, spaces and the invisible separators. Spelled out
# rather than `\s`, whose meaning differs between Python, ECMAScript and the schema validators.
BLANK = (r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000"
         r"\ufeff")
# Text people type carries no control or format characters (core.text; NUL, which PostgreSQL
# cannot store, among them).
TEXT = rf"^[^{CONTROL}]*$"
NON_BLANK_TEXT = rf"^[^{CONTROL}]*[^{BLANK}{CONTROL}][^{CONTROL}]*$"
SLUG = r"^[-_0-9A-Za-z]+$"
_EDGES = re.compile(rf"\A[{BLANK}]+|[{BLANK}]+\Z")

# Dates 1900–2999 (birthdays); moments 2000–2999: arithmetic on them never overflows, and
# Beijing time had whole-hour offsets all along (before 1901 it was local mean time,
# +08:05:43, which no RFC 3339 answer can spell).
MONTH_DAY = r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
DATE = rf"^(?:19[0-9]{{2}}|2[0-9]{{3}}){MONTH_DAY}$"
DATE_TIME = (rf"^2[0-9]{{3}}{MONTH_DAY}[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
             r"(?:\.[0-9]{1,6})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A schema pattern (ECMAScript anchors) read the same way by Python: `$` is the end of
    the text, never the place before a final newline."""
    return re.compile(pattern.replace("$", r"\Z"))


class Text(serializers.Field):
    """A JSON string of at most `max_length` characters, without control or format characters
    (core.text); unless `blank`, with a character that is not blank. With a `pattern`, the
    value must match it. Blanks around the value are removed after the checks."""

    default_error_messages = {
        "invalid": _("Not a valid string."),
        "blank": _("This field may not be blank."),
        "pattern": _("This value does not have the expected form."),
        "max_length": _("Ensure this field has no more than {max_length} characters."),
    }

    def __init__(self, *, max_length: int, blank: bool = False, pattern: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.blank = blank
        self.pattern = pattern or (TEXT if blank else NON_BLANK_TEXT)
        self.regex = compile_pattern(self.pattern)
        message = format_lazy(self.error_messages["max_length"], max_length=max_length)
        self.validators.append(MaxLengthValidator(max_length, message=message))
        self.validators.append(ProhibitSurrogateCharactersValidator())

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if found := control_characters(data):
            raise serializers.ValidationError(CONTROL_MESSAGE % {"where": ", ".join(found[:5])},
                                              code="control_characters")
        if not self.regex.search(data):
            self.fail("pattern" if self.pattern not in (TEXT, NON_BLANK_TEXT)
                      or "\x00" in data else "blank")
        return data

    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        return _EDGES.sub("", value) if isinstance(value, str) else value

    def to_representation(self, value):
        return str(value)


class Integer(serializers.IntegerField):
    """A JSON integer: never a string, a boolean or a number with a fraction. With
    `nonzero`, 0 is refused too (the schema says `not: {enum: [0]}`)."""

    default_error_messages = {"zero": _("Must not be 0.")}

    def __init__(self, *, nonzero: bool = False, **kwargs):
        self.nonzero = nonzero
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if self.nonzero and data == 0:
            self.fail("zero")
        return super().to_internal_value(data)


class QueryInteger(serializers.IntegerField):
    """An integer in a query string: optional minus sign and digits, nothing else."""

    regex = re.compile(r"-?[0-9]{1,19}")

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self.regex.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """`true` or `false`, nothing that merely reads like one."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class Money(serializers.DecimalField):
    """An amount in yuan as a JSON string: digits, then at most two decimals ("199.00"). Never
    negative, never a JSON number (binary floats cannot hold cents)."""

    default_error_messages = {"invalid": _("An amount is a string of digits with at most two "
                                           "decimals, e.g. \"199.00\".")}

    def __init__(self, *, whole_digits: int = 10, **kwargs):
        self.pattern = rf"^[0-9]{{1,{whole_digits}}}(?:\.[0-9]{{1,2}})?$"
        self.regex = compile_pattern(self.pattern)
        super().__init__(max_digits=whole_digits + 2, decimal_places=2, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self.regex.search(data):
            self.fail("invalid")
        return Decimal(data)


class DateTime(serializers.DateTimeField):
    """An RFC 3339 date-time with its offset, years 2000–2999."""

    pattern = DATE_TIME
    regex = compile_pattern(DATE_TIME)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not self.regex.search(value):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss+08:00")
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss+08:00")
        return self.enforce_timezone(parsed)


class Date(serializers.DateField):
    """A calendar date, YYYY-MM-DD, years 1900–2999."""

    pattern = DATE
    regex = compile_pattern(DATE)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not self.regex.search(value):
            self.fail("invalid", format="YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail("invalid", format="YYYY-MM-DD")


class Input(serializers.Serializer):
    """A request body: a JSON object whose every field is known. Unknown fields are refused
    (400 `invalid_input`, each named in `details`) rather than silently ignored, so a typo in
    a client never passes for a request that was understood."""

    default_error_messages = {"unknown": _("Unknown field.")}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                message = self.error_messages["unknown"]
                raise serializers.ValidationError({name: [message] for name in unknown})
        return super().to_internal_value(data)


class NoteField(serializers.CharField):
    """Output only: the text of the member note a row points at (what a person or an
    integrator typed: why points were adjusted or spent, why a coupon was voided); empty when
    there is none or erasure has blanked it. The row itself carries no typed text."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", "What a person typed about this, kept as a note beside "
                                       "the row; empty when there is none or it was erased.")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        note = getattr(instance, "note", None)
        return note.text if note is not None and note.erased_at is None else ""
