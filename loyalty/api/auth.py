"""API keys as DRF authentication, scopes as permissions, a rate limit per key."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from core.http import client_ip

from ..services.api_keys import api_key_authenticate


class FailedKeyThrottle:
    """Wrong API keys per address: past the limit in a minute, every request from that
    address answers 429 with Retry-After until the minute is over, right key or not, so a
    key cannot be guessed by trying. Counted in the shared cache (CACHE_URL)."""

    window = 60

    @staticmethod
    def limit() -> int:
        return getattr(settings, "API_KEY_FAILURES_PER_MINUTE", 20)

    def _key(self, ip: str, now: float) -> str:
        return f"api-key-failures:{ip}:{int(now // self.window)}"

    def wait(self, ip: str, now: float | None = None) -> int | None:
        """Seconds until this address may try again, or None if it may now."""
        now = time.time() if now is None else now
        if (cache.get(self._key(ip, now)) or 0) >= self.limit():
            return int(self.window - now % self.window) + 1
        return None

    def failed(self, ip: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        key = self._key(ip, now)
        if cache.add(key, 1, timeout=self.window * 2):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired in between
            cache.add(key, 1, timeout=self.window * 2)


failed_keys = FailedKeyThrottle()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer lk_<prefix>_<secret>` (or `X-Api-Key: lk_…`)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        raw = request.META.get("HTTP_X_API_KEY", "")
        scheme, space, credentials = header.partition(" ")
        if space and scheme.lower() == self.keyword.lower():  # schemes are case-insensitive
            raw = credentials.strip()
        if not raw:
            return None
        ip = client_ip(request) or "unknown"
        if (wait := failed_keys.wait(ip)) is not None:
            raise exceptions.Throttled(wait=wait, detail=str(_(
                "Too many wrong API keys from this address; try again later.")))
        key = api_key_authenticate(raw)
        if key is None:
            failed_keys.failed(ip)
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key."))
        return key, key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "lk_<prefix>_<secret>"}


class HasScopes(permissions.BasePermission):
    """The view's `required_scopes` must all be granted to the key."""

    message = _("This API key lacks the scope this request needs.")

    def has_permission(self, request, view):
        key = request.auth
        if key is None:
            return False
        return set(getattr(view, "required_scopes", ())) <= set(key.scopes)


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """Requests per minute per API key (each key has its own limit)."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if request.auth is None:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}

    def allow_request(self, request, view):
        key = request.auth
        self.num_requests, self.duration = (key.rate_per_minute if key else 60), 60
        self.key = self.get_cache_key(request, view)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def get_rate(self):
        return "60/min"
