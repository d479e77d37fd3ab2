"""Logging filters (wired in settings.LOGGING): a quiet console that still says what went
wrong.

A 4xx answer is the client's mistake, not the server's: one line says which request and
why ("Forbidden (Permission denied): /admin/…"), without the traceback Django attaches when
the answer came from an exception (PermissionDenied, BadRequest, SuspiciousOperation).
Server errors (5xx) keep their traceback.

Mobile numbers in query strings (an API lookup `?mobile=…`, an admin search `?q=1380013…`)
never reach a log: every handler masks them (`MaskMobilesInQueries`), and so does
gunicorn's access log (`GunicornLogger`, set by config/gunicorn.py).
"""

from __future__ import annotations

import logging
import re

_QUIET_PATH = re.compile(r'^[A-Z]+ (/static/|/healthz[ ?])')


class ClientErrorsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


class QuietServerRequests(logging.Filter):
    """The development server's access log (logger django.server): pages served, without
    static files and health checks; 4xx and 5xx answers are logged once, with their reason,
    by django.request."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None:
            return True  # not a request line (a broken pipe, an invalid request)
        if status >= 400:
            return False
        request_line = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        return not (isinstance(request_line, str) and _QUIET_PATH.match(request_line))


# A mainland mobile, whole or the start of one (7 to 11 digits from the leading 1), with or
# without +86 / %2B86 / 86, standing alone among the digits around it.
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|%2[Bb])?86)?(1[0-9]{6,10})(?![0-9])")
_QUERY = re.compile(r"\?[^\s\"']*")


def _mask_number(match: re.Match) -> str:
    digits = match.group(1)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return digits[:3] + "*" * (len(digits) - 3)


def mask_query_string(query: str) -> str:
    """The query string (without `?`) with every mobile number in it masked:
    q=13800138000 → q=138****8000, q=1380013 → q=138****."""
    return _MOBILE.sub(_mask_number, query)


def mask_queries(text: str) -> str:
    """Text with the query string of every URL in it masked (paths are left alone)."""
    if "?" not in text:
        return text
    return _QUERY.sub(lambda m: mask_query_string(m.group(0)), text)


class MaskMobilesInQueries(logging.Filter):
    """Masks mobile numbers in the query strings of a record's message and arguments (the
    development server's request line, anything that logs a URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_queries(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_queries(a) if isinstance(a, str) else a
                                for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_queries(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        return True


try:  # gunicorn is a runtime dependency, but this module must import without it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with mobile numbers masked in the access log: the request line,
    the query string, the referer (an admin page that searched) and every URL header."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if not isinstance(value, str):
                continue
            atoms[name] = mask_query_string(value) if name == "q" else mask_queries(value)
        return atoms
