"""The operator console for the base layer. Every list stays fast at millions of rows:
estimated counts, indexed searches, related rows joined, sorting only on indexed columns."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import (
    EstimatedCountPaginator, ReadOnlyAdminMixin, ScaleAdmin, SingletonAdmin, bounded_count,
)
from core.errors import LoyaltyError
from core.formats import number
from core.phones import mask_mobile

from . import selectors
from .models import (
    Member, MemberActivity, MemberSettings, MemberStats, MemberTag, Order, OrderLine, Store, Tag,
    TagChange, TagGroup,
)
from .services import (
    MemberInput, member_check, member_register, member_tags_add, member_tags_remove, member_update,
)


@admin.register(MemberSettings)
class MemberSettingsAdmin(SingletonAdmin):
    pass


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    show_facets = admin.ShowFacets.NEVER


class MemberForm(forms.ModelForm):
    """Validation comes from the members service (member_check), so the admin shows the
    same rule and message as the API: an invalid or taken mobile is a form error."""

    class Meta:
        model = Member
        fields = ("mobile", "name", "gender", "birthday", "region", "home_store",
                  "source_channel", "referrer", "external_id", "marketing_consent",
                  "marketing_consent_source")

    def member_input(self) -> MemberInput:
        data = self.cleaned_data
        store = data.get("home_store")
        referrer = data.get("referrer")
        return MemberInput(
            mobile=data.get("mobile") or "", name=data.get("name") or "",
            gender=data.get("gender"), birthday=data.get("birthday"),
            region=data.get("region") or "",
            home_store_code=store.code if store else None,
            source_channel=data.get("source_channel"),
            referrer_id=referrer.pk if referrer else None,
            external_id=data.get("external_id") or "",
            marketing_consent=data.get("marketing_consent"),
            consent_source=data.get("marketing_consent_source") or "admin",
        )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                member_check(data=self.member_input(), member_id=self.instance.pk)
            except LoyaltyError as exc:
                field = {"invalid_mobile": "mobile", "mobile_taken": "mobile",
                         "external_id_taken": "external_id"}.get(exc.code.value)
                self.add_error(field, exc.message)
        return cleaned

    def _post_clean(self):
        # The model's own unique checks would run COUNT-free but duplicate member_check;
        # the service and the database constraints are the source of truth.
        pass


class TagFilter(admin.SimpleListFilter):
    """Members holding a tag: lists the tags themselves, never a DISTINCT over members."""

    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(t.pk, str(t)) for t in Tag.objects.filter(is_active=True)[:200]]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(member_tags__tag_id=int(self.value()))
        return queryset


class MemberTagInline(admin.TabularInline):
    model = MemberTag
    extra = 0
    autocomplete_fields = ("tag",)
    readonly_fields = ("added_at",)
    fields = ("tag", "added_at")
    verbose_name_plural = _("tags")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tag")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(ScaleAdmin):
    form = MemberForm
    list_display = ("member_no", "name", "masked_mobile", "status", "home_store",
                    "source_channel", "created_at")
    list_select_related = ("home_store",)
    list_filter = ("status", "gender", "source_channel", "marketing_consent", "home_store",
                   TagFilter)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("member_no",)  # the real search is get_search_results below
    search_help_text = _("Mobile number, its last four digits, member number, storefront id "
                         "or the start of the name.")
    sortable_by = ("member_no", "created_at")
    ordering = ("-id",)
    autocomplete_fields = ("home_store", "referrer")
    readonly_fields = ("member_no", "status", "mobile_last4", "marketing_consent_at",
                       "enrolled_by", "created_at", "updated_at", "recent_orders",
                       "recent_activity", "statistics")
    inlines = (MemberTagInline,)
    actions = ("add_tag", "remove_tag")
    fieldsets = (
        (None, {"fields": ("member_no", "status", "name", "mobile", "gender", "birthday",
                           "region")}),
        (_("Membership"), {"fields": ("home_store", "source_channel", "referrer",
                                      "external_id", "enrolled_by", "created_at",
                                      "updated_at")}),
        (_("Marketing consent"), {"fields": ("marketing_consent", "marketing_consent_source",
                                             "marketing_consent_at")}),
        (_("Statistics"), {"fields": ("statistics",)}),
        (_("Orders"), {"fields": ("recent_orders",)}),
        (_("Activity"), {"fields": ("recent_activity",)}),
    )

    @admin.display(description=_("mobile"))
    def masked_mobile(self, obj: Member) -> str:
        return mask_mobile(obj.mobile)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return selectors.member_search(queryset, search_term), False

    @admin.display(description=_("recent orders"))
    def recent_orders(self, obj: Member):
        if not obj.pk:
            return "-"
        orders = selectors.member_recent_orders(obj.pk)
        if not orders:
            return _("No orders yet.")
        rows = format_html_join(
            "", "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td>"
            "<td style='text-align:right'>{}</td></tr>",
            ((reverse("admin:members_order_change", args=[o.pk]), o.order_no, o.store.name,
              o.get_kind_display(), o.ordered_at.strftime("%Y-%m-%d %H:%M"), o.net_amount)
             for o in orders),
        )
        link = reverse("admin:members_order_changelist") + f"?member__id__exact={obj.pk}"
        return format_html("<table>{}</table><p><a href='{}'>{}</a></p>", rows, link,
                           _("All orders of this member"))

    @admin.display(description=_("statistics"))
    def statistics(self, obj: Member):
        stats = MemberStats.objects.filter(member_id=obj.pk).first() if obj.pk else None
        if stats is None:
            return _("No purchases yet.")
        rows = [
            (_("first purchase"), stats.first_purchase_at.strftime("%Y-%m-%d")),
            (_("last purchase"), stats.last_purchase_at.strftime("%Y-%m-%d")),
            (_("orders"), number(stats.order_count)), (_("returns"), number(stats.return_count)),
            (_("net spend"), number(stats.net_spend, 2)),
            (_("average net spend per order"), number(stats.average_spend, 2)),
            (_("personal repurchase cycle (days)"), stats.repurchase_cycle_days or "-"),
            (_("RFM"), f"R{stats.recency_score or '-'} F{stats.frequency_score or '-'} "
                       f"M{stats.monetary_score or '-'} "
                       f"{selectors.rfm_segment_name(stats.rfm_segment)}"),
            (_("M×F quadrant"), stats.get_quadrant_display() or "-"),
            (_("lifecycle stage"), stats.get_lifecycle_display() or "-"),
        ]
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", rows))

    def get_urls(self):
        from django.urls import path

        from .insight_admin import import_tag_view

        return [path("import-tag/", self.admin_site.admin_view(
            lambda request: import_tag_view(self, request)), name="members_member_import_tag"),
        ] + super().get_urls()

    @admin.display(description=_("recent activity"))
    def recent_activity(self, obj: Member):
        if not obj.pk:
            return "-"
        rows = obj.activities.order_by("-occurred_at")[:20]
        if not rows:
            return _("No activity yet.")
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((a.occurred_at.strftime("%Y-%m-%d %H:%M"), a.get_kind_display(), a.name)
             for a in rows)))

    def save_model(self, request, obj, form, change):
        data = form.member_input()
        if change:
            saved = member_update(member_id=obj.pk, data=data)
        else:
            saved = self.register(request, data)
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def register(self, request, data: MemberInput) -> Member:
        """Overridden by the top layer so that an enrolment goes through the intake."""
        from dataclasses import replace

        return member_register(data=replace(data, enrolled_by_id=request.user.pk))

    def save_formset(self, request, form, formset, change):
        if formset.model is not MemberTag:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # sorts the rows into new and deleted; writes nothing
        member_ids = [form.instance.pk]
        for row in formset.new_objects:
            member_tags_add(tag_id=row.tag_id, member_ids=member_ids, cause=TagChange.Cause.MANUAL)
        for row in formset.deleted_objects:
            member_tags_remove(tag_id=row.tag_id, member_ids=member_ids,
                               cause=TagChange.Cause.MANUAL)

    class TagActionForm(forms.Form):
        # operators change manual tags only: rule and system tags belong to their rules
        tag = forms.ModelChoiceField(queryset=Tag.objects.filter(is_active=True,
                                                                 kind=Tag.Kind.MANUAL))

    @admin.action(description=_("Add a tag to the selected members"))
    def add_tag(self, request, queryset):
        return self._tag_action(request, queryset, "add_tag")

    @admin.action(description=_("Remove a tag from the selected members"))
    def remove_tag(self, request, queryset):
        return self._tag_action(request, queryset, "remove_tag")

    def _tag_action(self, request, queryset, action: str):
        from django.template.response import TemplateResponse

        if "apply" in request.POST:
            form = self.TagActionForm(request.POST)
            if form.is_valid():
                tag = form.cleaned_data["tag"]
                if action == "add_tag":
                    n = member_tags_add(tag_id=tag.pk, members=queryset,
                                        cause=TagChange.Cause.MANUAL)
                    done = _("Tag “%(tag)s” added to %(n)d members.")
                else:
                    n = member_tags_remove(tag_id=tag.pk, members=queryset,
                                           cause=TagChange.Cause.MANUAL)
                    done = _("Tag “%(tag)s” removed from %(n)d members.")
                self.message_user(request, done % {"tag": tag.name, "n": n}, messages.SUCCESS)
                return None
        else:
            form = self.TagActionForm()
        return TemplateResponse(request, "admin/members/add_tag.html", {
            **self.admin_site.each_context(request), "form": form, "queryset": queryset,
            "count": bounded_count(queryset), "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across"), "action_name": action,
        })


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    fk_name = "order"
    extra = 0
    fields = ("line_no", "sku", "category", "quantity", "gross_amount", "coupon_discount",
              "tier_discount", "other_discount", "points_cash", "net_amount", "original_line")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    """Orders enter only through the intake (API, counter, imports); here they are read."""

    list_display = ("order_no", "kind", "store", "member_link", "ordered_at", "net_amount")
    list_select_related = ("store", "member")
    list_filter = ("kind", "store")
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("order_no",)
    search_help_text = _("Order number, or a member's number, mobile or last four digits.")
    sortable_by = ("ordered_at",)
    ordering = ("-id",)
    inlines = (OrderLineInline,)
    readonly_fields = ("store", "order_no", "kind", "member", "original_order", "ordered_at",
                       "gross_amount", "coupon_discount", "tier_discount", "other_discount",
                       "points_cash", "net_amount", "created_at")
    exclude = ("fingerprint",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("members.view_order")

    @admin.display(description=_("member"))
    def member_link(self, obj: Order):
        url = reverse("admin:members_member_change", args=[obj.member_id])
        return format_html("<a href='{}'>{}</a>", url, obj.member.member_no)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return selectors.order_search(queryset, search_term), False


@admin.register(TagGroup)
class TagGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "sort_order")
    search_fields = ("name",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
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


@admin.register(MemberActivity)
class MemberActivityAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("occurred_at", "kind", "name", "member", "source_key")
    list_select_related = ("member",)
    list_filter = ("kind",)
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("source_key",)
    search_help_text = _("Event id, or a member's number or mobile.")
    ordering = ("-id",)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("members.view_memberactivity")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        members = selectors.member_ids_matching(term)
        return queryset.filter(Q(source_key=term) | Q(member_id__in=members)), False


from . import insight_admin  # noqa: E402,F401  (statistics, tag rules, segments)
