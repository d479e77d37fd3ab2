"""Facts about a request that several interfaces need."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str | None:
    """The address a request came from. Behind N trusted proxies (settings.TRUSTED_PROXIES)
    it is the N-th address from the right of X-Forwarded-For — the ones further left are
    whatever the client claimed; with none, the socket's own address."""
    hops = getattr(settings, "TRUSTED_PROXIES", 0)
    if hops:
        chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if a.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR") or None  # None: not over a socket (a test)
