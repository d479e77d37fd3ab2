"""Who works in the back office and what they did: staff accounts with their roles and
stores (a programme admin's page), the audit trail of admin changes, the access events, the
login attempts, and the scheduled jobs' actions behind the permission they use."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import User
from django.db.models import Prefetch
from django.urls import path
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import AutocompleteInputMixin, ReadOnlyAdminMixin, ScaleAdmin, permission_view
from core.errors import LoyaltyError
from members.admin.search import MemberSearchMixin
from members.models import AccessEvent, StoreStaff

from ..models import ApiKey
from ..roles import ROLE_NAMES, role_groups
from ..services.staff import staff_deactivation_check


class StoreStaffInline(AutocompleteInputMixin, TabularInline):
    model = StoreStaff
    extra = 0
    autocomplete_fields = ("store",)
    verbose_name = _("store")
    verbose_name_plural = _("stores this account acts for")


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(DjangoUserAdmin, ModelAdmin):
    """A programme admin manages staff accounts: their roles (the role groups and nothing
    else — no superuser flag, no single permissions) and their stores. Nobody changes their
    own role, and only a superuser changes a superuser."""

    inlines = (StoreStaffInline,)
    # the staff page: each account's roles, stores, last login and the API keys it owns
    list_display = ("username", "full_name", "roles", "stores", "is_active", "last_login",
                    "api_keys_owned")
    list_filter = ("is_active", "groups")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            "groups", Prefetch("store_links", queryset=StoreStaff.objects.select_related(
                "store").order_by("store__code")),
            Prefetch("api_keys", queryset=ApiKey.objects.filter(
                revoked_at__isnull=True).order_by("prefix"), to_attr="active_keys"))

    @admin.display(description=_("name"))
    def full_name(self, obj: User) -> str:
        return obj.get_full_name() or "-"

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return "、".join(str(ROLE_NAMES.get(g.name, g.name)) for g in obj.groups.all()) or "-"

    @admin.display(description=_("stores"))
    def stores(self, obj: User) -> str:
        return "、".join(link.store.name for link in obj.store_links.all()) or "-"

    @admin.display(description=_("API keys owned"))
    def api_keys_owned(self, obj: User) -> str:
        return ", ".join(key.prefix for key in getattr(obj, "active_keys", [])) or "-"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form

        class DeactivationCheckedForm(form):
            def clean(self):
                data = super().clean()
                if obj.is_active and data.get("is_active") is False:
                    try:
                        staff_deactivation_check(user_id=obj.pk)
                    except LoyaltyError as error:
                        self.add_error("is_active", error.message)
                return data

        return DeactivationCheckedForm

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser or obj is None:
            return super().get_fieldsets(request, obj)
        return (
            (None, {"fields": ("username", "password")}),
            (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
            (_("Role"), {"fields": ("is_active", "is_staff", "groups")}),
            (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["last_login", "date_joined"]
            if obj is not None and obj.pk == request.user.pk:
                readonly += ["groups", "is_staff", "is_active"]
        return readonly

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = role_groups()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        # the password page checks the account itself (a superuser's is refused above)
        return [
            path("<id>/password/", permission_view(self.admin_site, self.user_change_password,
                                                   "auth.change_user"),
                 name="auth_user_password_change"),
        ] + [p for p in super().get_urls()
             if getattr(p, "name", None) != "auth_user_password_change"]


@admin.register(AccessEvent)
class AccessEventAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("created_at", "kind", "actor_user", "actor_api_key_id", "member",
                    "subject", "row_count")
    list_select_related = ("actor_user", "member")
    list_filter = ("kind",)
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    sortable_by = ("created_at",)


@admin.register(LogEntry)
class AuditTrailAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    """What staff changed in the admin, as Django records it."""

    list_display = ("action_time", "user", "content_type", "object_repr", "action_flag",
                    "change_message")
    list_select_related = ("user", "content_type")
    list_filter = ("action_flag",)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=user__username", "object_repr")
    ordering = ("-id",)
    sortable_by = ("action_time",)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(ModelAdmin):
    """Failed logins per account and address; deleting a row lifts its lockout."""

    list_display = ("attempt_time", "username", "ip_address", "failures_since_start")
    search_fields = ("=username", "=ip_address")
    fields = readonly_fields = ("attempt_time", "username", "ip_address", "user_agent",
                                "path_info", "http_accept", "failures_since_start")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessFailureLog)
class LoginFailureAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("attempt_time", "username", "ip_address", "path_info", "locked_out")
    list_filter = ("locked_out",)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=username", "=ip_address")
    ordering = ("-id",)
