"""Deployment checks (`manage.py check --deploy`): what production needs beyond Django's own."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


@checks.register(checks.Tags.caches, deploy=True)
def shared_cache(app_configs=None, **kwargs):
    """The per-key API rate limit and the failed-key throttle count in the cache: with a
    cache per process every worker counts on its own and the limits multiply."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [checks.Error(
            _("The cache is local to each process, so API rate limits and login throttling "
              "do not hold across workers."),
            hint=_("Set CACHE_URL to a Redis server (redis://host:6379/0)."),
            id="loyalty.E001")]
    return []
