"""The permission matrix: every URL of the admin, read from the URL conf, opened by a staff
user of every group the migration defines and by one with no group, each answering as the
roles in loyalty/roles.py say — the expected outcome is computed from that data (a role's
permissions, the pages the admin never offers), never recorded from a response.

What a URL needs: a list, a change page or a history needs to view (or change) the model;
an add page to add and a delete page to delete, where the admin offers them at all; an
action what its `permissions` name (Django's own words, or the admin's
`action_permissions`); a page of an admin's own what `permission_view` put on it. A URL
with no such declaration is a failure, so a page, an action or a role added later is
covered without touching this file."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse

from loyalty import roles
from members.models import Member
from tests.loyalty.admin_world import World, build_world

pytestmark = pytest.mark.django_db

NO_GROUP = "(no group)"
STANDARD = {"changelist", "add", "change", "delete", "history"}
# Site pages every signed-in staff account may open, whatever its role.
# (unfold's search answers with the apps and models the viewer may open, so it is open too.)
SITE_OPEN = {"index", "password_change", "password_change_done", "jsi18n", "view_on_site",
             "search"}
# Site URLs that are not pages a role opens: the login form (a signed-in user is sent on),
# logging out (POST only) and the catch-all that answers every unknown path.
SITE_NOT_PAGES = {"login", "logout", None}


@dataclass(frozen=True)
class Url:
    label: str  # what the failure message names
    path: str
    needs: tuple[frozenset[str], ...]  # any one set of permissions suffices (all of it)
    denied: int = 403  # what a refusal answers
    action: str | None = None  # an action of the list at `path`
    name: str = ""  # the URL's name, by which a link on a page is recognised


def model_label(model) -> str:
    return model._meta.label_lower


def page_offered(model, verb: str) -> bool:
    return verb not in roles.NO_PAGE.get(model_label(model), ())


def model_perm(model, verb: str) -> str:
    return f"{model._meta.app_label}.{verb}_{model._meta.model_name}"


def view_or_change(model) -> tuple[frozenset[str], ...]:
    return (frozenset({model_perm(model, "view")}), frozenset({model_perm(model, "change")}))


def sample(model, world: World):
    if model is User:
        return world.users[roles.CLERKS]  # a staff account a programme admin manages
    if model is Member:
        return world.member
    if hasattr(model, "load"):
        return model.load()
    return model.objects.order_by("pk").first()


def action_needs(model, model_admin, name: str, action) -> tuple[frozenset[str], ...] | None:
    """What an action needs, from its declaration; None when it declares nothing."""
    words = getattr(action, "allowed_permissions", None)
    if not words:
        return None
    needs = set()
    for word in words:
        if word in ("view", "add", "change", "delete"):
            if not page_offered(model, word):
                return ()  # the admin never allows it: nobody is offered the action
            needs.add(model_perm(model, word))
        elif word in getattr(model_admin, "action_permissions", {}):
            needs.add(model_admin.action_permissions[word])
        else:
            return None
    return (frozenset(needs),)


def admin_urls(world: World) -> tuple[list[Url], list[str]]:
    """Every admin URL with what it needs, walked from the URL conf; and the URLs that
    declare nothing (each a failure)."""
    urls: list[Url] = []
    undeclared: list[str] = []
    site = next(p for p in get_resolver().url_patterns
                if isinstance(p, URLResolver) and p.namespace == "admin")
    registry = {(m._meta.app_label, m._meta.model_name): (m, ma)
                for m, ma in admin.site._registry.items()}
    for entry in site.url_patterns:
        if isinstance(entry, URLPattern):
            name = entry.name
            if name in SITE_NOT_PAGES:
                continue
            if name in SITE_OPEN:
                path = (reverse("admin:view_on_site", args=[1, 1]) if name == "view_on_site"
                        else reverse(f"admin:{name}"))
                urls.append(Url(f"site {name}", path, (frozenset(),), denied=0, name=name))
            elif name == "app_list":
                for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
                    # the app's page lists the models the role has any permission on
                    needs = tuple(frozenset({model_perm(m, verb)})
                                  for m in admin.site._registry
                                  if m._meta.app_label == app_label
                                  for verb in ("view", "add", "change", "delete"))
                    urls.append(Url(f"app {app_label}", reverse("admin:app_list",
                                                              args=[app_label]), needs, 404,
                                    name=f"app_list:{app_label}"))
            elif name == "autocomplete":
                # the lookup a member page's home store select makes: Django asks for the
                # permission to view what is looked up (stores)
                needs = (frozenset({"members.view_store"}),)
                path = (reverse("admin:autocomplete") + "?app_label=members&model_name="
                        "member&field_name=home_store")
                urls.append(Url("site autocomplete", path, needs, name=name))
            else:
                undeclared.append(f"site URL {name}")
            continue
        app_label, model_name = str(entry.pattern).strip("/").split("/")
        model, model_admin = registry[(app_label, model_name)]
        obj = sample(model, world)
        assert obj is not None, f"the world has no {model._meta.label}"
        prefix = f"{app_label}_{model_name}_"
        for pattern in entry.url_patterns:
            name = pattern.name
            if name is None:
                continue  # Django's old-style object URL, a redirect to the change page
            kind = name.removeprefix(prefix) if name.startswith(prefix) else None
            args = [obj.pk] * len(pattern.pattern.converters)
            path = reverse(f"admin:{name}", args=args)
            label = f"{model._meta.label} {kind or name}"
            if kind in ("changelist", "change", "history"):
                urls.append(Url(label, path, view_or_change(model), name=name))
            elif kind in ("add", "delete"):
                needs = ((frozenset({model_perm(model, kind)}),)
                         if page_offered(model, kind) else ())
                urls.append(Url(label, path, needs, name=name))
            else:
                declared = getattr(pattern.callback, "required_permissions", None)
                if declared is None:
                    undeclared.append(f"{label}: a page that declares no permission")
                else:
                    urls.append(Url(label, path, (frozenset(declared),), name=name))
        changelist = reverse(f"admin:{prefix}changelist")
        for action, name, _description in model_admin._get_base_actions():
            needs = action_needs(model, model_admin, name, action)
            if needs is None:
                undeclared.append(f"{model._meta.label} action {name}: declares no permission")
            else:
                urls.append(Url(f"{model._meta.label} action {name}", changelist, needs,
                                action=name))
    return urls, undeclared


def allowed(url: Url, perms: frozenset[str]) -> bool:
    return any(need <= perms for need in url.needs)


OPTION = re.compile(r'<option value="([^"]+)"')
ADMIN_LINK = re.compile(r"""href=["'](/admin/[^"'#?]*)""")


def link_key(path: str) -> str | None:
    """The name a link on a page is known by in the matrix (None: not an admin page)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.url_name == "app_list":
        return f"app_list:{match.kwargs['app_label']}"
    return match.url_name


def forbidden_links(html: str, by_name: dict[str, Url], perms: frozenset[str]) -> set[str]:
    """The admin links on a page that the role viewing it could not open."""
    found = set()
    for path in set(ADMIN_LINK.findall(html)):
        url = by_name.get(link_key(path) or "")
        if url is not None and url.action is None and not allowed(url, perms):
            found.add(f"{path} ({url.label})")
    return found


def offered_actions(html: str) -> set[str]:
    start = html.find('name="action"')
    if start < 0:
        return set()
    return set(OPTION.findall(html[start:html.find("</select>", start)])) - {""}


def staff_of(group: Group | None) -> User:
    name = f"matrix-{group.name if group else 'nogroup'}"
    user = User.objects.create_user(name, password="x", is_staff=True)
    if group is not None:
        user.groups.add(group)
    return user


def test_the_migration_defines_the_roles_and_their_permissions():
    groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLE_NAMES)}
    assert set(groups) == set(roles.ROLE_NAMES)
    for name, group in groups.items():
        held = {f"{p.content_type.app_label}.{p.codename}"
                for p in group.permissions.select_related("content_type")}
        assert held == set(roles.role_permissions(name)), name


@pytest.mark.parametrize("group_name", [role.name for role in roles.ROLES] + [NO_GROUP])
def test_every_admin_url_answers_as_the_roles_say(group_name):
    world = build_world()
    group = None if group_name == NO_GROUP else Group.objects.get(name=group_name)
    user = staff_of(group)
    # the clerk of the matrix acts for the world's store, as the demo's clerk does
    user.store_links.create(store=world.store)
    perms = frozenset() if group is None else roles.role_permissions(group_name)
    client = Client()
    client.force_login(user)
    urls, undeclared = admin_urls(world)
    problems = list(undeclared)
    by_name = {url.name: url for url in urls if url.name and url.action is None}
    pages: dict[str, object] = {}
    counter_only = group_name in roles.COUNTER_ONLY  # a clerk: refused on every admin URL
    assert not (counter_only and perms), "a counter role holds no admin permission"
    for url in urls:
        want = allowed(url, perms) and not counter_only
        if counter_only:
            url = Url(url.label, url.path, url.needs, 403, url.action, url.name)
        try:
            if url.action is not None:
                if url.path not in pages:
                    pages[url.path] = client.get(url.path)
                page = pages[url.path]
                if page.status_code != 200:
                    if want:
                        problems.append(f"{url.label}: its list answers {page.status_code}")
                    continue
                got = url.action in offered_actions(page.content.decode())
                if got != want:
                    problems.append(f"{url.label}: {'offered' if got else 'not offered'}, "
                                    f"expected {'offered' if want else 'not offered'}")
                continue
            response = client.get(url.path, follow=True)
        except Exception:  # noqa: BLE001  (a page that raises is what this test looks for)
            problems.append(f"{url.label}: raised\n{traceback.format_exc(limit=-3)}")
            continue
        status = response.status_code
        if status >= 500:
            problems.append(f"{url.label}: {status}")
        elif want and status in (403, 404) and not (url.denied == 0 and status == 404):
            problems.append(f"{url.label}: {status}, expected to be allowed")
        elif not want and status != url.denied:
            problems.append(f"{url.label}: {status}, expected {url.denied}")
        if want and status == 200 and "html" in response.get("Content-Type", ""):
            # a page shows no link its viewer cannot follow
            for link in sorted(forbidden_links(response.content.decode(), by_name, perms)):
                problems.append(f"{url.label}: links to {link}, which the role cannot open")
    allowed_count = 0 if counter_only else sum(allowed(url, perms) for url in urls)
    print(f"{group_name}: {len(urls)} admin URLs checked, {allowed_count} allowed")
    assert len(urls) > 250
    assert not problems, "\n".join(problems)
