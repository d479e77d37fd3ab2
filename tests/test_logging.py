"""The console stays readable: a client error (4xx) is one line without a traceback, the
development server's access log leaves out static files and health checks, and Django's
loggers write each record once."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from django.conf import settings

from config.log_filters import ClientErrorsInOneLine, QuietServerRequests


def _record(name: str, msg: str, args=(), *, status: int | None = None,
            failed: bool = False) -> logging.LogRecord:
    exc_info = None
    if failed:
        try:
            raise PermissionError("no")
        except PermissionError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info)
    if status is not None:
        record.status_code = status
    return record


def _formatted(record: logging.LogRecord, handler_filter: logging.Filter) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(handler_filter)
    handler.handle(record)
    return stream.getvalue()


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_client_error_is_one_line(status):
    text = _formatted(_record("django.request", "Forbidden (Permission denied): %s",
                              ("/admin/x",), status=status, failed=True), ClientErrorsInOneLine())
    assert text == "Forbidden (Permission denied): /admin/x\n"


def test_a_server_error_keeps_its_traceback():
    text = _formatted(_record("django.request", "Internal Server Error: %s", ("/x",),
                              status=500, failed=True), ClientErrorsInOneLine())
    assert "Traceback" in text and "PermissionError" in text


@pytest.mark.parametrize(("line", "status", "shown"), [
    ("GET /admin/ HTTP/1.1", 200, True),
    ("POST /admin/login/ HTTP/1.1", 302, True),
    ("GET /static/admin/css/base.css HTTP/1.1", 200, False),
    ("GET /static/admin/css/base.css HTTP/1.1", 304, False),
    ("GET /healthz HTTP/1.1", 200, False),
    ("GET /healthzz HTTP/1.1", 200, True),
    ("GET /admin/secret/ HTTP/1.1", 403, False),  # django.request says it, with the reason
    ("GET /boom HTTP/1.1", 500, False),
])
def test_the_access_log_shows_pages_only(line, status, shown):
    record = _record("django.server", '"%s" %s %s', (line, str(status), "12"), status=status)
    assert QuietServerRequests().filter(record) is shown


def test_a_line_without_a_status_is_kept():
    assert QuietServerRequests().filter(_record("django.server", "Broken pipe from %s",
                                                (("127.0.0.1", 1),)))


def test_django_loggers_write_once_through_the_filtered_handlers():
    config = settings.LOGGING
    assert config["loggers"]["django"]["propagate"] is False
    assert config["loggers"]["django.server"]["propagate"] is False
    request = logging.getLogger("django.request")
    handlers = [h for logger in (request, request.parent) for h in logger.handlers]
    assert any(isinstance(f, ClientErrorsInOneLine) for h in handlers for f in h.filters)
