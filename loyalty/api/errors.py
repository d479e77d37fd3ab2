"""The one JSON error shape of the API: {"error": {"code", "message", "details"}}.

Business failures (`LoyaltyError`) keep their own code and status; DRF's validation,
authentication, permission, throttling and not-found errors are mapped to stable codes.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import LoyaltyError, error_body

from ..errors import ApiError, ApiErrorCode

logger = logging.getLogger(__name__)

DRF_CODES = {
    exceptions.ValidationError: "invalid_input",
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


RETRY_AFTER_SECONDS = {
    ApiErrorCode.IDEMPOTENCY_IN_PROGRESS.value: 1,
    ApiErrorCode.SERVICE_UNAVAILABLE.value: 2,
}


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = ApiError(ApiErrorCode.REQUEST_TOO_LARGE, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiError(ApiErrorCode.BAD_REQUEST)
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # The database is gone, a lock or statement timed out, a deadlock was broken: nothing
        # was written, and the same request may well succeed in a moment.
        logger.warning("database unavailable: %s", exc)
        exc = ApiError(ApiErrorCode.SERVICE_UNAVAILABLE)
    if isinstance(exc, LoyaltyError):
        set_rollback()
        return with_retry_after(Response(exc.as_dict(), status=exc.status))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        message = _("The request is not valid.")
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(code, message, details)
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        response.data = error_body(code, str(exc.detail))
    if isinstance(exc, exceptions.Throttled) and not response.has_header("Retry-After"):
        response["Retry-After"] = "1"
    return response


def with_retry_after(response: Response) -> Response:
    """A refusal that a retry can overcome says when to retry."""
    error = response.data.get("error") if isinstance(response.data, dict) else None
    seconds = RETRY_AFTER_SECONDS.get(error.get("code")) if isinstance(error, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if seconds is None and isinstance(details, dict) and isinstance(
            details.get("retry_after"), int):
        seconds = details["retry_after"]  # a throttle that knows when its window ends
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any other path under the API (`/members/abc`, `/members/-1`, a typo): the one error
    shape rather than Django's HTML page."""
    return JsonResponse(error_body("not_found", str(exceptions.NotFound.default_detail)),
                        status=404)
