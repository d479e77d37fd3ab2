"""Admin pieces that keep list pages fast at millions of rows.

A changelist normally runs COUNT(*) over the whole filtered table twice (the page count and
the "N total" link). At 1M members that alone costs seconds. `EstimatedCountPaginator`
counts exactly only up to a bound and otherwise takes PostgreSQL's planner estimate.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

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


class ScaleAdmin(admin.ModelAdmin):
    """Base for admin lists over large tables: no full COUNT(*), sort only on indexed
    columns (set `sortable_by`), and related rows fetched in the same query."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    sortable_by: tuple[str, ...] = ()


class ReadOnlyAdminMixin:
    """For ledgers and records that enter only through services (orders, entries)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SingletonAdmin(admin.ModelAdmin):
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
