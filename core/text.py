"""Text people type: no control or format characters.

A name that carries U+202E (right-to-left override) shows reversed in every list; a carriage
return or line feed in a store name breaks exports and logs; a zero-width space makes two
tags look alike. So every text field an operator or an integrator fills in — names, codes,
references, reasons — refuses the characters of Unicode categories Cc (controls) and Cf
(format: bidi marks and overrides, zero-width spaces, the byte-order mark …) and the line and
paragraph separators (Zl, Zp). Multi-line fields (descriptions, notes, templates) accept the
line feed, and a carriage return before it is normalised away.

Two format characters are allowed: the zero-width non-joiner and joiner (U+200C, U+200D).
They shape Persian and Indic scripts and hold emoji sequences together (👨‍👩‍👧), which
members' nicknames from the mini-program carry; they reorder nothing.

The set is written out (Unicode 14, the basic multilingual plane) rather than computed from
`unicodedata`, so the API schema's pattern (loyalty.api.fields) does not change with the
Python version. Format characters outside the basic plane (Egyptian hieroglyph and musical
symbol formatting, tag characters) are not listed: an ECMAScript pattern without the `u`
flag, as OpenAPI tools read it, cannot name them.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Cc, Cf, Zl and Zp in the basic plane, less U+200C-U+200D; \n apart, for multi-line text.
_REFUSED_BESIDES_LINE_FEED = (
    r"\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    r"\u0890-\u0891\u08e2\u180e\u200b\u200e-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    r"\ufeff\ufff9-\ufffb"
)
CONTROL = r"\u000a" + _REFUSED_BESIDES_LINE_FEED  # for a character class, one-line text
CONTROL_MULTILINE = _REFUSED_BESIDES_LINE_FEED  # for a character class, multi-line text

_CONTROL = re.compile(f"[{CONTROL}]")
_CONTROL_MULTILINE = re.compile(f"[{CONTROL_MULTILINE}]")

MESSAGE = _("Remove the invisible or control characters (line breaks, tabs, text-direction "
            "marks, zero-width spaces): %(where)s.")
MESSAGE_MULTILINE = _("Remove the invisible or control characters (tabs, text-direction "
                      "marks, zero-width spaces): %(where)s. Line breaks are allowed.")


def normalise_newlines(value):
    """CR LF and a lone CR become LF (browsers send a textarea's lines with CR LF)."""
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def control_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The refused characters in `value`, each once, as U+XXXX, in the order they occur."""
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in pattern.findall(value)))


@deconstructible
class TypedTextValidator:
    """Refuses control and format characters; with `multiline`, the line feed passes (and
    CR LF, which forms and the API normalise to LF)."""

    code = "control_characters"

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, value) -> None:
        if not isinstance(value, str):
            return
        text = normalise_newlines(value) if self.multiline else value
        found = control_characters(text, multiline=self.multiline)
        if found:
            raise ValidationError(MESSAGE_MULTILINE if self.multiline else MESSAGE,
                                  code=self.code, params={"where": ", ".join(found[:5])})

    def __eq__(self, other) -> bool:
        return isinstance(other, TypedTextValidator) and other.multiline == self.multiline


one_line_text = TypedTextValidator()
multiline_text = TypedTextValidator(multiline=True)


_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def whole_number(text: str | None, *, maximum: int | None = None) -> int | None:
    """A whole number of 0 or more written in ASCII digits, or None. `str.isdigit` is no
    test: it passes "²" and "١٢", which int() then refuses or reads as another number."""
    if not isinstance(text, str) or not _WHOLE_NUMBER.fullmatch(text):
        return None
    value = int(text)
    return None if maximum is not None and value > maximum else value
