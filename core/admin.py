"""Admin pieces that keep list pages fast at millions of rows, and the month a monthly
figures page shows.

A changelist normally runs COUNT(*) over the whole filtered table twice (the page count and
the "N total" link). At 1M members that alone costs seconds. `EstimatedCountPaginator`
counts exactly only up to a bound and otherwise takes PostgreSQL's planner estimate.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin

from .clock import local_date

EXACT_COUNT_LIMIT = 10_000


def estimated_count(queryset) -> int:
    """The planner's row estimate for a queryset (no rows are read)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset, limit: int = EXACT_COUNT_LIMIT) -> int:
    """COUNT over at most limit + 1 rows: exact for small results, cheap for large ones."""
    return queryset.order_by()[: limit + 1].count()


class EstimatedCountPaginator(Paginator):
    """Exact counts up to EXACT_COUNT_LIMIT, the planner's estimate beyond."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return len(queryset)
        exact = bounded_count(queryset)
        if exact <= EXACT_COUNT_LIMIT:
            return exact
        return max(estimated_count(queryset.order_by()), exact)


class ScaleAdmin(ModelAdmin):
    """Base for admin lists over large tables: no full COUNT(*), sort only on indexed
    columns (set `sortable_by`), and related rows fetched in the same query."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    sortable_by: tuple[str, ...] = ()

    # An id is for finding a row again, so it is shown as typed (1234567), not as a figure
    # with thousands separators.
    def get_list_display(self, request):
        return tuple("row_id" if name == "id" else name
                     for name in super().get_list_display(request))

    def get_sortable_by(self, request):
        sortable = tuple(super().get_sortable_by(request))
        return (*sortable, "row_id") if "id" in sortable else sortable

    @admin.display(description=gettext_lazy("ID"), ordering="id")
    def row_id(self, obj) -> str:
        return str(obj.pk)


class ReadOnlyAdminMixin:
    """For ledgers and records that enter only through services (orders, entries)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SingletonAdmin(ModelAdmin):
    """Programme settings: one row, opened straight from the list link."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from django.shortcuts import redirect
        from django.urls import reverse

        obj = self.model.load()
        opts = self.model._meta
        return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))


# --- links a viewer may follow ----------------------------------------------------------------
# A page shows no link its viewer could not open (the permission matrix checks every page of
# every role for that). Display methods get no request, so the staff user viewing the page is
# kept here for the request (loyalty's StaffActorMiddleware sets it).
_viewer: ContextVar = ContextVar("admin_viewer", default=None)


@contextmanager
def viewing(user):
    token = _viewer.set(user)
    try:
        yield user
    finally:
        _viewer.reset(token)


def viewer_may(*perms: str) -> bool:
    """Whether the staff user viewing the current page holds all these permissions."""
    user = _viewer.get()
    return user is not None and user.has_perms(perms)


def link(url: str, text, *perms: str, css_class: str = ""):
    """A link for a viewer who may open it (holds `perms`); for anyone else nothing."""
    if not viewer_may(*perms):
        return ""
    if css_class:
        return format_html("<a class='{}' href='{}'>{}</a>", css_class, url, text)
    return format_html("<a href='{}'>{}</a>", url, text)


def guard_readonly_links() -> None:
    """A read-only foreign key on a change page links to the related object's page only for a
    viewer who may view it; otherwise it shows the object's name (Django links it for anyone,
    e.g. finance to a staff account's page)."""
    from django.contrib.admin import helpers
    from unfold.fields import UnfoldAdminReadonlyField  # the console's own (django-unfold)

    for field_class in (helpers.AdminReadonlyField, UnfoldAdminReadonlyField):
        if field_class.__dict__.get("links_guarded", False):
            continue
        original = field_class.get_admin_url

        def get_admin_url(self, remote_field, remote_obj, original=original):
            opts = remote_field.model._meta
            if not (viewer_may(f"{opts.app_label}.view_{opts.model_name}")
                    or viewer_may(f"{opts.app_label}.change_{opts.model_name}")):
                return str(remote_obj)
            return original(self, remote_field, remote_obj)

        field_class.get_admin_url = get_admin_url
        field_class.links_guarded = True


class PermittedColumnsMixin:
    """List columns that hold links to a page of the admin's own show only to viewers who
    may open it: `column_permissions = {"redeem_link": "points.add_rewardredemption"}`."""

    column_permissions: dict[str, str] = {}

    def get_list_display(self, request):
        return tuple(name for name in super().get_list_display(request)
                     if name not in self.column_permissions
                     or request.user.has_perm(self.column_permissions[name]))


class DeclaredPermissionsMixin:
    """Actions and pages of an admin name the permission they need, where code can read it.

    An action with a permission of its own (`@admin.action(permissions=["void"])`) finds
    it in `action_permissions` ({"void": "points.change_coupon"}); Django then asks
    `has_void_permission`, which this answers. A page of its own goes through
    `permission_view`. The permission-matrix test reads both declarations."""

    action_permissions: dict[str, str] = {}

    def __getattr__(self, name: str):
        if name.startswith("has_") and name.endswith("_permission"):
            perm = type(self).action_permissions.get(name[4:-11])
            if perm is not None:
                def has_permission(request, obj=None):
                    return request.user.has_perm(perm)
                return has_permission
        raise AttributeError(name)


def permission_view(admin_site, view, *perms: str):
    """An admin page of one's own that needs these permissions ("app.codename"); the page
    checks objects (a clerk's stores) itself. `required_permissions` stays on the URL's
    callback for the permission matrix."""
    from functools import wraps

    from django.core.exceptions import PermissionDenied

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.has_perms(perms):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    guarded.required_permissions = perms
    return admin_site.admin_view(guarded)


@dataclass(frozen=True)
class MonthPage:
    """Which calendar month (Beijing time) a monthly page shows, and where it may step.

    `?month=2026-03` picks the month; none means the current one. The pages never step past
    the current month (`next` is None there); a month that has not begun, or text that is
    not a month, is refused with `error` and no figures — not a page of zeros."""

    month: date
    current: date
    error: str | None = None

    @property
    def previous(self) -> str:
        return (self.month - timedelta(days=1)).strftime("%Y-%m")

    @property
    def next(self) -> str | None:
        if self.error or self.month >= self.current:
            return None
        return (self.month + timedelta(days=32)).replace(day=1).strftime("%Y-%m")


MONTH_PARAM = re.compile(r"(\d{4})-(\d{1,2})")


def month_page(request, now: datetime) -> MonthPage:
    current = local_date(now).replace(day=1)
    raw = request.GET.get("month", "").strip()
    if not raw:
        return MonthPage(month=current, current=current)
    match = MONTH_PARAM.fullmatch(raw)
    try:
        month = date(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        month = None
    if month is None or month.year < 2000:
        return MonthPage(month=current, current=current, error=_(
            "“%(value)s” is not a month: give it as year-month, e.g. %(example)s.") % {
            "value": raw[:20], "example": current.strftime("%Y-%m")})
    if month > current:
        return MonthPage(month=current, current=current, error=_(
            "%(month)s has not begun yet: figures run up to the current month, "
            "%(current)s (Beijing time).") % {"month": month.strftime("%Y-%m"),
                                             "current": current.strftime("%Y-%m")})
    return MonthPage(month=month, current=current)


class _ReadableSelection:
    """Django's autocomplete widgets look the submitted ids up to show them again when a
    form is refused, and a value that is no id ("abc", "1.5") makes that lookup raise — a
    500 instead of the form's own "select a valid choice". Values the target field cannot
    read are left out of the lookup; the form still reports them."""

    def optgroups(self, name, value, attr=None):
        from django.core.exceptions import ValidationError

        remote = self.field.remote_field
        target = remote.model._meta.get_field(getattr(remote, "field_name", None)
                                              or remote.model._meta.pk.name)
        readable = []
        for item in value:
            try:
                target.to_python(item)
            except (ValidationError, TypeError, ValueError):
                continue
            readable.append(item)
        return super().optgroups(name, readable, attr)


class ReadableAutocompleteSelect(_ReadableSelection, admin.widgets.AutocompleteSelect):
    pass


class ReadableAutocompleteSelectMultiple(_ReadableSelection,
                                         admin.widgets.AutocompleteSelectMultiple):
    pass


class AutocompleteInputMixin:
    """For admins and inlines with `autocomplete_fields`: the same widgets, safe with any
    submitted value (tests/loyalty/test_admin_fuzz.py posts them)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = ReadableAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = ReadableAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)
