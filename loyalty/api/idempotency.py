"""`Idempotency-Key` for API writes, scoped per API key.

1. The body is validated first; a request rejected there stores nothing, so a corrected
   retry may reuse the key.
2. The key is recorded (committed) before the work, with a hash of the request.
3. The work runs in a transaction that holds a row lock on the record and stores the
   outcome — success or business failure — in the same transaction. A replay with the same
   body answers the stored outcome (with `Idempotent-Replayed: true`); another body under the
   key is refused (422); a request arriving while the first still runs finds the row locked
   (409 `idempotency_in_progress`, with `Retry-After`). If the worker dies
   mid-way, its transaction rolls back, the lock goes with it, and a retry does the work.
4. The stored response is replayed for `settings.IDEMPOTENCY_RESPONSE_DAYS` (30). Then a
   daily job removes it — it holds personal data — and keeps the key, the request hash and
   the status: a later replay is answered 409 `idempotency_response_expired` with the
   original status in `details`, and the work is never done again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone
from psycopg.errors import LockNotAvailable
from rest_framework.response import Response

from core.errors import LoyaltyError

from ..errors import ApiError, ApiErrorCode
from ..models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
KEY_PATTERN = r"^[!-~]{1,255}$"  # visible ASCII: what every HTTP stack carries unchanged
_KEY = re.compile(r"[!-~]{1,255}")


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str) if request.data else ""
    text = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency_key(request, *, required: bool) -> str | None:
    key = request.META.get(HEADER)
    if key is None:
        if required:
            raise ApiError(ApiErrorCode.IDEMPOTENCY_KEY_REQUIRED)
        return None
    if not _KEY.fullmatch(key):
        raise ApiError(ApiErrorCode.IDEMPOTENCY_KEY_INVALID)
    return key


def run_idempotent(request, work: Callable[[], Response], *, required: bool) -> Response:
    """Run `work` at most once per (API key, Idempotency-Key); replay its outcome after."""
    key = idempotency_key(request, required=required)
    if key is None:
        return _outcome(work)
    digest = _request_hash(request)
    api_key = request.auth
    IdempotencyRecord.objects.bulk_create(
        [IdempotencyRecord(api_key=api_key, key=key, request_hash=digest,
                           created_at=timezone.now())],
        ignore_conflicts=True,
    )
    with transaction.atomic():
        try:
            record = (IdempotencyRecord.objects.select_for_update(nowait=True)
                      .get(api_key=api_key, key=key))
        except OperationalError as exc:
            if not isinstance(exc.__cause__, LockNotAvailable):
                raise
            # locked: the first request with this key is still running
            raise ApiError(ApiErrorCode.IDEMPOTENCY_IN_PROGRESS) from None
        if record.request_hash != digest:
            raise ApiError(ApiErrorCode.IDEMPOTENCY_KEY_REUSED)
        if record.state == IdempotencyRecord.State.DONE and record.response_expired_at:
            raise ApiError(ApiErrorCode.IDEMPOTENCY_RESPONSE_EXPIRED,
                           days=settings.IDEMPOTENCY_RESPONSE_DAYS,
                           original_status=record.response_status)
        if record.state == IdempotencyRecord.State.DONE:
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        response = _outcome(work)
        record.state = IdempotencyRecord.State.DONE
        record.response_status = response.status_code
        record.response_body = response.data
        record.completed_at = timezone.now()
        record.save(update_fields=["state", "response_status", "response_body", "completed_at"])
    return response


def _outcome(work: Callable[[], Response]) -> Response:
    """The work's response, or its business failure as a response (the work is undone)."""
    try:
        with transaction.atomic():
            return work()
    except LoyaltyError as exc:
        if exc.status == 429:  # "try later" is no outcome: not stored, the key may retry
            raise
        return Response(exc.as_dict(), status=exc.status)
