"""The operator console for the base layer. Every list stays fast at millions of rows:
estimated counts, indexed searches, related rows joined, sorting only on indexed columns."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import (
    AutocompleteInputMixin,
    EstimatedCountPaginator,
    ReadOnlyAdminMixin,
    ScaleAdmin,
)
from core.errors import LoyaltyError

from ..models import (
    Member,
    MemberTag,
    Tag,
    TagChange,
    TagCondition,
    TagGroup,
    TagRule,
)
from ..services.tag_rules import tag_rules_refresh
from ..tag_conditions import validate as validate_condition
from .search import MemberSearchMixin, member_link


@admin.register(TagGroup)
class TagGroupAdmin(ModelAdmin):
    list_display = ("name", "sort_order")
    search_fields = ("name",)


@admin.register(Tag)
class TagAdmin(ModelAdmin):
    list_display = ("name", "code", "group", "kind", "is_active")
    list_filter = ("kind", "group", "is_active")
    list_select_related = ("group",)
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}
    readonly_fields = ("member_count",)
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description=_("members with this tag"))
    def member_count(self, obj: Tag):
        if not obj.pk:
            return "-"
        paginator = EstimatedCountPaginator(MemberTag.objects.filter(tag=obj), 1)
        url = reverse("admin:members_member_changelist") + f"?tag={obj.pk}"
        if obj.kind != Tag.Kind.MANUAL:
            return format_html("<a href='{}'>{}</a>", url, paginator.count)
        return format_html("<a href='{}'>{}</a> · <a href='{}'>{}</a>", url, paginator.count,
                           reverse("admin:members_member_import_tag"),
                           _("Import members by number"))


class TagConditionForm(forms.ModelForm):
    class Meta:
        model = TagCondition
        fields = ("kind", "statistic", "values", "minimum", "maximum", "days", "period", "negate")

    def clean(self):
        cleaned = super().clean()
        if not self.errors and cleaned.get("kind"):
            try:
                validate_condition(TagCondition(**{f: cleaned.get(f) for f in self.Meta.fields
                                                   if f != "negate"}))
            except LoyaltyError as exc:
                raise ValidationError(exc.message) from None
        return cleaned


class TagConditionInline(admin.TabularInline):
    # Django's own widgets: the condition's amounts are read back as typed (unfold's
    # inline widgets lose them on a save that changes nothing)
    model = TagCondition
    form = TagConditionForm
    extra = 1


@admin.register(TagRule)
class TagRuleAdmin(AutocompleteInputMixin, ModelAdmin):
    """A rule tag's conditions, all of which must hold; refreshed nightly and on events."""

    list_display = ("tag", "is_active", "refreshed_at")
    list_select_related = ("tag",)
    autocomplete_fields = ("tag",)
    readonly_fields = ("refreshed_at",)
    inlines = (TagConditionInline,)
    actions = ("refresh_now",)

    @admin.action(description=_("Refresh the selected rules for every member now"),
                  permissions=["change"])
    def refresh_now(self, request, queryset):
        done = tag_rules_refresh(rule_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("Tags added: %(added)d, removed: %(removed)d.")
                          % {"added": done.added, "removed": done.removed}, messages.SUCCESS)


@admin.register(TagChange)
class TagChangeAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    """Searched like every member list: a member's number, mobile or last four digits."""

    list_display = ("changed_at", "member_link", "tag_name", "action", "cause")
    list_filter = ("action", "cause")
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("member_id",)  # the search itself is MemberSearchMixin's
    ordering = ("-id",)

    def get_queryset(self, request):
        # history keeps plain ids (no foreign key): the member number of each row shown
        # comes from a subquery run for the rows of the page only
        number = Member.objects.filter(pk=OuterRef("member_id")).values("member_no")[:1]
        return super().get_queryset(request).annotate(member_no=Subquery(number))

    def changelist_view(self, request, extra_context=None):
        self._tag_names = dict(Tag.objects.values_list("pk", "name")[:5000])
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("tag"))
    def tag_name(self, obj: TagChange) -> str:
        return getattr(self, "_tag_names", {}).get(obj.tag_id, str(obj.tag_id))

    @admin.display(description=_("member"))
    def member_link(self, obj: TagChange):
        return member_link(obj.member_id, getattr(obj, "member_no", None) or obj.member_id)
