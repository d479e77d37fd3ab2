from axes.apps import AppConfig as AxesAppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class LoginProtectionConfig(AxesAppConfig):
    """django-axes (login lockout) under a name the console can translate."""

    name = "axes"
    verbose_name = _("Login protection")


class ConsoleAdminConfig(AdminConfig):
    """Django's admin with the operator console's site: django-unfold's look, the sidebar
    by the work and the dashboard as its home (loyalty.console)."""

    default_site = "loyalty.console.ConsoleSite"
