"""The demo's way in: a login per role and an API key for a storefront.

Passwords are the published demo ones, set when a login is made and never changed after:
someone may have changed one for good reason. The banner shows the demo password only while
it still opens its login.

The API key's plaintext is shown once by the service that creates it and stored nowhere by
the product. Under DEBUG the demo keeps it in var/demo-api-key (mode 0600) and reuses it
while it is still a live key with every scope, so a storefront configured with it keeps
working across restarts; the database holds only its hash.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group

from loyalty import roles
from loyalty.models import ApiKey, Scope
from loyalty.services.api_keys import api_key_create, api_key_lookup
from members.models import Store, StoreStaff

DEMO_KEY_NAME = "demo storefront"


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    group: str
    label: str


LOGINS = (
    Login("progadmin", "progadmin-demo-2026", roles.PROGRAMME_ADMINS,
          "Programme admin: staff, stores, API keys"),
    Login("operator", "operator-demo-2026", roles.OPERATORS, "Operator: the whole console"),
    Login("clerk", "clerk-demo-2026", roles.CLERKS, "Clerk: the counter /counter/ (no admin)"),
    Login("finance", "finance-demo-2026", roles.FINANCE, "Finance: figures, read-only"),
)
CHANGED = "(changed since)"


def demo_logins() -> tuple[Login, ...]:
    """A staff user per role, in its role's group (roles.roles_sync has run). A login that
    exists keeps its password; it is shown only while the demo password still opens it."""
    User = get_user_model()
    users = [(login, *User.objects.get_or_create(username=login.username,
                                                 defaults={"is_staff": True}))
             for login in LOGINS]

    def still_demo(item) -> bool:
        login, user, created = item
        return created or check_password(login.password, user.password)

    # Checking a password takes most of a second by design: the logins side by side.
    with ThreadPoolExecutor(len(users)) as pool:
        demo = list(pool.map(still_demo, users))
    shown = []
    for (login, user, created), is_demo in zip(users, demo, strict=True):
        if created:
            user.set_password(login.password)
            user.save()
            user.groups.add(Group.objects.get(name=login.group))
        shown.append(login if is_demo else Login(login.username, CHANGED, login.group,
                                                 login.label))
    return tuple(shown)


def demo_clerk_stores(count: int = 2) -> list[str]:
    """Bind the demo clerk to the first `count` physical stores (once; a binding a
    programme admin changed since is left alone)."""
    clerk = get_user_model().objects.get(username="clerk")
    if StoreStaff.objects.filter(user=clerk).exists():
        return list(StoreStaff.objects.filter(user=clerk).order_by("store__code")
                    .values_list("store__code", flat=True))
    stores = list(Store.objects.filter(kind=Store.Kind.PHYSICAL, is_active=True)
                  .order_by("code")[:count])
    StoreStaff.objects.bulk_create([StoreStaff(user=clerk, store=s) for s in stores])
    return [s.code for s in stores]


def key_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-api-key"


@dataclass(frozen=True)
class DemoKey:
    plaintext: str | None  # None: a live key exists whose secret was shown when created
    reused: bool


def _usable(plaintext: str) -> bool:
    key = api_key_lookup(plaintext)
    return (key is not None and key.name == DEMO_KEY_NAME
            and set(key.scopes) >= set(Scope.values))


def _write_key_file(path: Path, plaintext: str) -> None:
    """Readable by its owner only, written whole (a reader never sees half a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(plaintext + "\n")
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def demo_api_key() -> DemoKey:
    """The demo storefront's key (all scopes). Under DEBUG: the one in var/demo-api-key if
    it is still live, else a new one written there. Keys are never revoked here: a
    storefront may be configured with one. With DEBUG off nothing is written: an existing
    live demo key is kept (its secret is not stored anywhere) and only a first one is
    created and shown."""
    path = key_file()
    if settings.DEBUG and path.exists():
        plaintext = path.read_text().strip()
        if _usable(plaintext):
            return DemoKey(plaintext, reused=True)
    if not settings.DEBUG and ApiKey.objects.filter(name=DEMO_KEY_NAME,
                                                    revoked_at__isnull=True).exists():
        return DemoKey(None, reused=True)
    owner = get_user_model().objects.get(username="progadmin")
    _key, plaintext = api_key_create(name=DEMO_KEY_NAME, scopes=list(Scope.values),
                                     owner_id=owner.pk)
    if settings.DEBUG:
        _write_key_file(path, plaintext)
    return DemoKey(plaintext, reused=False)
