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


class RefuseNulMiddleware:
    """A NUL character in a query string or a form is answered 400 Bad Request before any
    view sees it. PostgreSQL cannot store or compare text holding NUL, so a list filter,
    a search or a select given one (`?kind__exact=%00`) failed inside the database — a
    500. No one types a NUL; forms already refuse it in text fields. The API is left to its
    own input fields, which refuse it with the JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") and (_has_nul(request.GET) or (
                request.method == "POST" and _has_nul(request.POST))):
            from django.core.exceptions import SuspiciousOperation

            raise SuspiciousOperation("NUL character in the request's parameters")
        return self.get_response(request)


def _has_nul(params) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values)
               for key, values in params.lists())
