"""API keys as DRF authentication, scopes as permissions, a rate limit per key."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from ..services import api_key_authenticate


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
        key = api_key_authenticate(raw)
        if key is None:
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
