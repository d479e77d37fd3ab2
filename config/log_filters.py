"""Logging filters (wired in settings.LOGGING): a quiet console that still says what went
wrong.

A 4xx answer is the client's mistake, not the server's: one line says which request and
why ("Forbidden (Permission denied): /admin/…"), without the traceback Django attaches when
the answer came from an exception (PermissionDenied, BadRequest, SuspiciousOperation).
Server errors (5xx) keep their traceback.
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
