"""The people who use the back office, as Django groups with the permissions their work needs.

Operators run the programme in the admin; clerks serve members at the counter for their
store; finance reads figures. Integrators use API keys, not logins.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

OPERATORS = "operators"
CLERKS = "clerks"
FINANCE = "finance"

ROLE_NAMES = {OPERATORS: _("Operators"), CLERKS: _("Clerks"), FINANCE: _("Finance")}

PROGRAMME_APPS = ("members", "points", "tiers", "campaigns", "loyalty")


def _perms(app_labels=(), codenames=()) -> list[Permission]:
    perms = list(Permission.objects.filter(content_type__app_label__in=app_labels))
    for full in codenames:
        app_label, codename = full.split(".")
        perms.extend(Permission.objects.filter(content_type__app_label=app_label,
                                               codename=codename))
    return perms


def roles_sync() -> dict[str, Group]:
    """Create or refresh the role groups; safe to run again."""
    wanted = {
        OPERATORS: _perms(PROGRAMME_APPS, ("django_celery_beat.view_periodictask",
                                           "django_celery_beat.change_periodictask")),
        CLERKS: _perms((), ("members.view_member", "members.add_member",
                            "members.change_member", "members.view_order",
                            "members.view_store")),
        FINANCE: [p for p in _perms(PROGRAMME_APPS) if p.codename.startswith("view_")],
    }
    groups = {}
    for name, perms in wanted.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(perms)
        groups[name] = group
    return groups
