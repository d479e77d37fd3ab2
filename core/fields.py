"""Model fields for text people type (core.text): a one-line field refuses control and
format characters; a multi-line one lets the line feed through and stores CR LF as LF.

They are Django's CharField and TextField with a validator, so the admin's forms (through
the model's full_clean) and any ModelSerializer check them; the API's own input fields
check the same set (loyalty.api.fields.Text). Writes that bypass validation — services fed
by those checked inputs, COPY loads — are not re-checked."""

from __future__ import annotations

from django.db import models

from .text import multiline_text, normalise_newlines, one_line_text


class OneLineField(models.CharField):
    """A name, a code, a reference: one line, no control or format characters."""

    default_validators = [one_line_text]


class _MultiLine:
    default_validators = [multiline_text]

    def to_python(self, value):
        return normalise_newlines(super().to_python(value))


class MultiLineCharField(_MultiLine, models.CharField):
    """A short description or note: line breaks allowed, stored as LF."""


class MultiLineTextField(_MultiLine, models.TextField):
    """A description, a template, a definition: line breaks allowed, stored as LF."""
