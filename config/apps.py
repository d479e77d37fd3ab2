from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class LoginProtectionConfig(AxesAppConfig):
    """django-axes (login lockout) under a name the console can translate."""

    name = "axes"
    verbose_name = _("Login protection")
