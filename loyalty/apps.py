from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, using="default", **kwargs):
    # loyalty is the last installed app, so every app's permissions exist by the time its
    # post_migrate arrives: the role groups get the permissions the roles name.
    from django.db import router

    from .roles import roles_sync

    if router.allow_migrate(using, sender.label):
        roles_sync()


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty programme")

    def ready(self):
        from core.admin import guard_readonly_links

        from . import checks  # noqa: F401  (registers the deployment checks)
        from .health import connect_signals

        connect_signals()  # beat records its heartbeat when it sends the health task

        guard_readonly_links()

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="loyalty_roles_sync")

