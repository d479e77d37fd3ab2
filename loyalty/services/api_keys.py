"""API keys: created with a secret shown once, stored hashed, revoked or handed on."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from core.clock import resolve_now

from ..errors import ApiError, ApiErrorCode
from ..models import ApiKey, Scope

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
