"""Response headers set for the whole site: the Content-Security-Policy and the API's
no-store rule. (HSTS, nosniff, the referrer policy and X-Frame-Options are Django's
SecurityMiddleware and XFrameOptionsMiddleware, set in config.settings.)"""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.conf import settings

# Every answer of the versioned API may carry personal data (names, mobiles, balances,
# a stored idempotent reply): no cache, shared or private, keeps it. The schema and the
# docs (under /api/schema/ and /api/docs/) carry none and may be cached.
NO_STORE_PREFIX = "/api/v1/"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with a nonce in the policy of every response rather than
    only of those whose template asked for one: the policy reads the same on every page
    (`script-src 'self' 'nonce-…'`), and a page that has no inline script loses nothing."""

    def process_request(self, request):
        super().process_request(request)
        str(request.csp_nonce)  # made now, so the policy names it

    def get_policy_parts(self, request, response, report_only=False):
        # the console's pages need 'unsafe-eval' (settings.ADMIN_SCRIPT_SRC says why); only
        # they get it
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith(settings.ADMIN_PATH_PREFIX):
            parts.replace = {**(parts.replace or {}), "script-src": settings.ADMIN_SCRIPT_SRC}
        return parts


class NoStoreApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(NO_STORE_PREFIX):
            response["Cache-Control"] = "no-store"
        return response
