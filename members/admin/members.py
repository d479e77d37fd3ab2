"""The operator console for the base layer. Every list stays fast at millions of rows:
estimated counts, indexed searches, related rows joined, sorting only on indexed columns."""

from __future__ import annotations

from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline

from core.admin import (
    AutocompleteInputMixin,
    DeclaredPermissionsMixin,
    ScaleAdmin,
    bounded_count,
    permission_view,
)
from core.errors import LoyaltyError
from core.formats import number
from core.phones import mask_mobile
from core.text import whole_number
from members.selectors.access import members_for_stores, staff_store_ids
from members.selectors.consent import member_consent_history, member_consents
from members.selectors.members import is_exact_identifier, member_search
from members.selectors.orders import member_recent_orders
from members.selectors.stats import rfm_segment_name

from ..models import (
    ContactChannel,
    Member,
    MemberStats,
    MemberTag,
    Tag,
    TagChange,
)
from ..services.access import member_mobile_reveal
from ..services.members import MemberInput, member_check, member_register, member_update
from ..services.tags import member_tags_add, member_tags_remove

FULL_MOBILE = "members.view_full_mobile"
# The stores whose orders the member page being rendered may show (None: every store).
_page_stores: ContextVar[list[int] | None] = ContextVar("member_page_stores", default=None)


def sees_full_mobile(request) -> bool:
    return request.user.has_perm(FULL_MOBILE)


def _local(moment, fmt: str) -> str:
    """A stored (UTC) time as the programme shows it: Beijing time, like the rest of the
    admin."""
    return timezone.localtime(moment).strftime(fmt)


class MemberForm(forms.ModelForm):
    """Validation comes from the members service (member_check), so the admin shows the
    same rule and message as the API: an invalid or taken mobile is a form error."""

    class Meta:
        model = Member
        fields = ("mobile", "name", "gender", "birthday", "region", "home_store",
                  "source_channel", "referrer", "external_id", "do_not_disturb",
                  "contact_whitelist")

    consent_channels = forms.MultipleChoiceField(
        label=_("agrees to marketing on"), required=False, choices=ContactChannel.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each change is recorded with its time and the source “admin”."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["consent_channels"].initial = [
                channel for channel, granted in member_consents(self.instance.pk).items()
                if granted]

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
            consents={channel: channel in (data.get("consent_channels") or ())
                      for channel in ContactChannel.values},
            consent_source="admin",
            do_not_disturb=data.get("do_not_disturb"),
            contact_whitelist=data.get("contact_whitelist"),
        )

    def clean(self):
        cleaned = super().clean()
        if "mobile" not in self.fields and not self.errors:  # masked: a new number or none
            cleaned["mobile"] = cleaned.get("new_mobile") or self.instance.mobile
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
        # the service and the database constraints are the source of truth. The text
        # fields' own validators (no control characters: core.text) still run.
        typed = {f.name: f for f in Member._meta.concrete_fields}
        for name, value in list(self.cleaned_data.items()):
            if isinstance(value, str) and name in typed:
                try:
                    typed[name].run_validators(value)
                except ValidationError as exc:
                    self.add_error(name, exc)


class MaskedMemberForm(MemberForm):
    """The member page for someone who sees mobiles masked (clerks, finance): the number is
    not sent to the browser; a new one may be typed in, and the full one revealed (and
    recorded) on its own page."""

    new_mobile = forms.CharField(label=_("new mobile"), required=False, max_length=20,
                                 help_text=_("Leave empty to keep the current number."))

    class Meta(MemberForm.Meta):
        fields = tuple(f for f in MemberForm.Meta.fields if f != "mobile") + ("new_mobile",)


class TagFilter(admin.SimpleListFilter):
    """Members holding a tag: lists the tags themselves, never a DISTINCT over members."""

    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(t.pk, str(t)) for t in Tag.objects.filter(is_active=True)[:200]]

    def queryset(self, request, queryset):
        tag_id = whole_number(self.value())
        if tag_id is not None:
            return queryset.filter(member_tags__tag_id=tag_id)
        return queryset


class MemberTagInline(AutocompleteInputMixin, TabularInline):
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
class MemberAdmin(AutocompleteInputMixin, DeclaredPermissionsMixin, ScaleAdmin):
    """Everyone with the permission to act for every store sees every member; a clerk sees
    the members of their stores (home store, or an order there) and, by an exact mobile or
    member number, anyone else in the list. Mobiles are masked for whoever lacks the
    permission to see them in full."""

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
    readonly_fields = ("member_no", "status", "mobile_last4", "marketing_consent",
                       "marketing_consent_at", "marketing_consent_source", "consent_history",
                       "enrolled_by", "created_at", "updated_at", "recent_orders",
                       "recent_activity", "statistics", "masked_mobile_reveal")
    inlines = (MemberTagInline,)
    actions = ("add_tag", "remove_tag")
    # tagging from the list is putting or taking member tags: whoever may do that on the
    # member page (operators), not whoever may merely open the list (clerks, finance)
    action_permissions = {"tag_members": "members.add_membertag",
                          "untag_members": "members.delete_membertag"}
    fieldsets = (
        (None, {"fields": ("member_no", "status", "name", "mobile", "gender", "birthday",
                           "region")}),
        (_("Membership"), {"fields": ("home_store", "source_channel", "referrer",
                                      "external_id", "enrolled_by", "created_at",
                                      "updated_at")}),
        (_("Marketing consent"), {"fields": ("consent_channels", "do_not_disturb",
                                             "contact_whitelist", "marketing_consent",
                                             "marketing_consent_source",
                                             "marketing_consent_at", "consent_history")}),
        (_("Statistics"), {"fields": ("statistics",)}),
        (_("Orders"), {"fields": ("recent_orders",)}),
        (_("Activity"), {"fields": ("recent_activity",)}),
    )

    @admin.display(description=_("mobile"))
    def masked_mobile(self, obj: Member) -> str:
        return mask_mobile(obj.mobile)

    @admin.display(description=_("mobile"))
    def masked_mobile_reveal(self, obj: Member):
        if not obj.pk or not obj.mobile:
            return "-"
        url = reverse("admin:members_member_reveal_mobile", args=[obj.pk])
        return format_html("{} <a href='{}'>{}</a>", mask_mobile(obj.mobile), url,
                           _("Reveal (recorded)"))

    # --- stores: what a clerk may list and open ------------------------------------------
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        stores = staff_store_ids(request.user)
        if stores is None:
            return queryset
        return members_for_stores(queryset, stores)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        if (staff_store_ids(request.user) is not None
                and is_exact_identifier(search_term)):
            # a walk-in from another store: found by the full number only
            queryset = self.model._default_manager.select_related(*self.list_select_related)
        return member_search(queryset, search_term), False

    # --- masking -------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and not sees_full_mobile(request):
            kwargs["form"] = MaskedMemberForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or sees_full_mobile(request):
            return fieldsets
        masked = []
        for name, options in fieldsets:
            fields = []
            for field in options["fields"]:
                if field == "mobile":
                    fields.append("masked_mobile_reveal")
                    if self.has_change_permission(request, obj):
                        fields.append("new_mobile")
                else:
                    fields.append(field)
            masked.append((name, {**options, "fields": tuple(fields)}))
        return masked

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        token = _page_stores.set(staff_store_ids(request.user))
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # the page's own fields read the stores while rendering
            return response
        finally:
            _page_stores.reset(token)

    def reveal_mobile_view(self, request, member_id: int):
        """The full number, after a click that is recorded as an access event."""
        from django.template.response import TemplateResponse

        member = self.get_object(request, str(member_id))
        if member is None:
            raise PermissionDenied
        mobile = None
        if request.method == "POST":
            mobile = member_mobile_reveal(member_id=member.pk)
        return TemplateResponse(request, "admin/members/reveal_mobile.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "member": member, "mobile": mobile, "masked": mask_mobile(member.mobile),
            "title": _("Reveal the mobile number"),
        })

    @admin.display(description=_("recent orders"))
    def recent_orders(self, obj: Member):
        if not obj.pk:
            return "-"
        orders = member_recent_orders(obj.pk, store_ids=_page_stores.get())
        if not orders:
            return _("No orders yet.")
        rows = format_html_join(
            "", "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td>"
            "<td style='text-align:right'>{}</td></tr>",
            ((reverse("admin:members_order_change", args=[o.pk]), o.order_no, o.store.name,
              o.get_kind_display(), _local(o.ordered_at, "%Y-%m-%d %H:%M"), o.net_amount)
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
            (_("first purchase"), _local(stats.first_purchase_at, "%Y-%m-%d")),
            (_("last purchase"), _local(stats.last_purchase_at, "%Y-%m-%d")),
            (_("orders"), number(stats.order_count)), (_("returns"), number(stats.return_count)),
            (_("net spend"), number(stats.net_spend, 2)),
            (_("average net spend per order"), number(stats.average_spend, 2)),
            (_("personal repurchase cycle (days)"), stats.repurchase_cycle_days or "-"),
            (_("RFM"), f"R{stats.recency_score or '-'} F{stats.frequency_score or '-'} "
                       f"M{stats.monetary_score or '-'} "
                       f"{rfm_segment_name(stats.rfm_segment)}"),
            (_("M×F quadrant"), stats.get_quadrant_display() or "-"),
            (_("lifecycle stage"), stats.get_lifecycle_display() or "-"),
        ]
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", rows))

    def get_urls(self):
        from django.urls import path

        from .imports import import_tag_view

        def import_tag(request):
            return import_tag_view(self, request)

        def reveal(request, member_id: int):
            return self.reveal_mobile_view(request, member_id)

        return [
            path("import-tag/", permission_view(self.admin_site, import_tag,
                                                "members.add_membertag"),
                 name="members_member_import_tag"),
            path("<int:member_id>/reveal-mobile/", permission_view(
                self.admin_site, reveal, "members.view_member"),
                 name="members_member_reveal_mobile"),
        ] + super().get_urls()

    @admin.display(description=_("agrees to marketing on"))
    def consent_channels(self, obj: Member) -> str:
        """The page of someone who may only look: the channels agreed on."""
        if not obj.pk:
            return "-"
        labels = dict(ContactChannel.choices)
        granted = [str(labels[c]) for c, ok in member_consents(obj.pk).items() if ok]
        return "、".join(granted) or "-"

    @admin.display(description=_("consent history"))
    def consent_history(self, obj: Member):
        if not obj.pk:
            return "-"
        rows = member_consent_history(obj.pk)
        if not rows:
            return _("No consent recorded.")
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((_local(c.at, "%Y-%m-%d %H:%M"), c.get_channel_display(),
              _("granted") if c.granted else _("withdrawn"), c.source) for c in rows)))

    @admin.display(description=_("recent activity"))
    def recent_activity(self, obj: Member):
        if not obj.pk:
            return "-"
        rows = obj.activities.order_by("-occurred_at")[:20]
        if not rows:
            return _("No activity yet.")
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((_local(a.occurred_at, "%Y-%m-%d %H:%M"), a.get_kind_display(), a.name)
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

    @admin.action(description=_("Add a tag to the selected members"),
                  permissions=["tag_members"])
    def add_tag(self, request, queryset):
        return self._tag_action(request, queryset, "add_tag")

    @admin.action(description=_("Remove a tag from the selected members"),
                  permissions=["untag_members"])
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
