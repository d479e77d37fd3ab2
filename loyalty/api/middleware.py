"""HTTP-level behaviour of the API that no view sees: the request id, the body size limit,
and the one error shape for answers made outside the API's views (Django's own 400, 404
and 500 pages, which are HTML)."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
import uuid
from http import HTTPStatus

from django.conf import settings
from django.core.signals import got_request_exception, request_finished
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions

from core.errors import LoyaltyError, error_body

from ..errors import ApiErrorCode

HEADER = "X-Request-ID"
API_PREFIX = "/api/"
NO_REQUEST = "-"

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id",
                                                                 default=NO_REQUEST)
access_log = logging.getLogger("loyalty.api.access")

# What an error page made outside the views means, by status, in the API's codes.
HTTP_ERRORS = {
    400: ApiErrorCode.BAD_REQUEST,
    413: ApiErrorCode.REQUEST_TOO_LARGE,
    500: ApiErrorCode.INTERNAL_ERROR,
    503: ApiErrorCode.SERVICE_UNAVAILABLE,
}
DRF_ERRORS = {403: exceptions.PermissionDenied, 404: exceptions.NotFound}


def _request_id_from(raw: str) -> str:
    """The client's id when it is a UUID (in its canonical spelling), else a new one."""
    try:
        return str(uuid.UUID(raw.strip())) if raw and len(raw) <= 64 else str(uuid.uuid4())
    except ValueError:
        return str(uuid.uuid4())


class RequestIdLogFilter(logging.Filter):
    """Puts the current request's id on every log record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _forget_request_id(**kwargs) -> None:
    request_id.set(NO_REQUEST)


request_finished.connect(_forget_request_id, dispatch_uid="loyalty.api.request_id")


class RequestIdMiddleware:
    """Every response carries `X-Request-ID`; the same id is on every log line the request
    writes (Django's own "Bad Request" and "Internal Server Error" lines included, which
    are written after the middleware returns — the id is cleared when the response ends)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = _request_id_from(request.META.get("HTTP_X_REQUEST_ID", ""))
        request.request_id = rid
        request_id.set(rid)
        started = time.monotonic()
        response = self.get_response(request)
        response[HEADER] = rid
        if request.path.startswith(API_PREFIX):
            access_log.info("%s %s %s %.0fms", request.method, request.path,
                            response.status_code, (time.monotonic() - started) * 1000)
        return response


DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def _note_database_failure(sender, request=None, **kwargs) -> None:
    """A layer outside the API's views (a middleware reading the session, say) failed on
    the database: Django turns that into an HTML 500 before the error shape sees it, so the
    cause is noted on the request here, while the exception is being handled."""
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        request.database_unavailable = True


got_request_exception.connect(_note_database_failure, dispatch_uid="loyalty.api.db_failure")


def _too_large(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is not None and length > limit


class ApiErrorShapeMiddleware:
    """Under /api/, every answer is JSON: a body over the size limit is refused with 413
    before anything reads it, and an error page made by Django rather than by a view
    (a refused Host header, a crash) is replaced by the API's error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if _too_large(request):
            error = LoyaltyError(ApiErrorCode.REQUEST_TOO_LARGE,
                                 limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            return JsonResponse(error.as_dict(), status=error.status)
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
                "application/json"):
            status = response.status_code
            if status == 500 and getattr(request, "database_unavailable", False):
                status = 503  # the database is gone: nothing was written, retry shortly
            return _json_error(status)
        return response


def _json_error(status: int) -> JsonResponse:
    if status in HTTP_ERRORS:
        error = LoyaltyError(HTTP_ERRORS[status], limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        body = error.as_dict()
        body["error"]["details"] = {}
    elif status in DRF_ERRORS:
        exc = DRF_ERRORS[status]
        body = error_body(exc.default_code, str(exc.default_detail))
    else:
        body = error_body("internal_error" if status >= 500 else "bad_request",
                          HTTPStatus(status).phrase)
    from .errors import RETRY_AFTER_SECONDS  # not at import: logging loads this module early

    response = JsonResponse(body, status=status)
    seconds = RETRY_AFTER_SECONDS.get(body["error"]["code"])
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response
