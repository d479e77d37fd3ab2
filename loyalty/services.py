"""Writes of the top layer that belong to no element: API keys and idempotency records."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings

from core.batch import execute_limited
from core.clock import resolve_now
from members.batch import batch_in_chunks, batch_run

from .errors import ApiError, ApiErrorCode
from .models import ApiKey, IdempotencyRecord, Scope

KEY_PREFIX = "lk_"


def _hash(secret: str) -> str:
    # Keys are 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, name: str, scopes: list[str], owner_id: int,
                   rate_per_minute: int = 600) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext, which is shown once and never stored."""
    for scope in scopes:
        if scope not in Scope.values:
            raise ApiError(ApiErrorCode.INVALID_SCOPE, scope=scope)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(name=name, prefix=prefix, hashed_key=_hash(secret),
                                scopes=sorted(set(scopes)), owner_id=owner_id,
                                rate_per_minute=rate_per_minute)
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


def api_key_lookup(raw: str) -> ApiKey | None:
    """The active key a plaintext belongs to, or None; records nothing."""
    if not raw.startswith(KEY_PREFIX) or "_" not in raw[len(KEY_PREFIX):]:
        return None
    prefix, secret = raw[len(KEY_PREFIX):].split("_", 1)
    if not (0 < len(prefix) <= 12 and prefix.isascii() and prefix.isalnum()):
        return None  # not a prefix we issue; and a NUL byte would make the query fail
    key = (ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True, owner__is_active=True)
           .select_related("owner").first())
    if key is None or not hmac.compare_digest(key.hashed_key, _hash(secret)):
        return None
    return key


def api_key_authenticate(raw: str, *, now: datetime | None = None) -> ApiKey | None:
    """The active key a plaintext belongs to, or None. Records when it was last used (at
    most once a minute, so a busy key does not turn every request into a write)."""
    now = resolve_now(now)
    key = api_key_lookup(raw)
    if key is None:
        return None
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_reassign(*, key_id: int, owner_id: int) -> None:
    """Hand a key to another owner, who answers for what it does from now on; the rows it
    wrote before keep the key and the user who owned it then."""
    ApiKey.objects.filter(pk=key_id).update(owner_id=owner_id)


def api_key_revoke(*, key_id: int, now: datetime | None = None) -> None:
    now = resolve_now(now)
    ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(revoked_at=now)


_EXPIRE_RESPONSES_SQL = """
UPDATE loyalty_idempotencyrecord SET response_body = NULL, response_expired_at = %(now)s
WHERE id IN (SELECT id FROM loyalty_idempotencyrecord
             WHERE state = 'done' AND response_expired_at IS NULL
               AND completed_at < %(cutoff)s
             ORDER BY completed_at LIMIT %(limit)s
             FOR UPDATE SKIP LOCKED)
"""


def idempotency_responses_expire(*, now: datetime | None = None, days: int | None = None,
                                 chunk: int = 5000, run_key: str | None = None) -> int:
    """The daily job: remove the stored responses (personal data) of keys used more than
    `days` (settings.IDEMPOTENCY_RESPONSE_DAYS) ago, a chunk per statement; the key, the
    request hash and the status stay, so a late replay is answered and never run again.
    Returns the responses removed by the run."""
    days = settings.IDEMPOTENCY_RESPONSE_DAYS if days is None else days
    progress = batch_run("idempotency.expire_responses", run_key=run_key, now=resolve_now(now))
    params = {"now": progress.now, "cutoff": progress.now - timedelta(days=days)}
    return batch_in_chunks(progress, lambda: execute_limited(
        _EXPIRE_RESPONSES_SQL, params, chunk=chunk), chunk=chunk)


__all__ = ["api_key_create", "api_key_lookup", "api_key_authenticate", "api_key_reassign",
           "api_key_revoke", "idempotency_responses_expire", "IdempotencyRecord"]
