"""The operator console's site: django-unfold's admin site with the sidebar by the work
(首页 · 会员 · 积分 · 等级与权益 · 活动 · 门店 · 报表 · 设置) and the dashboard as its home.

Each sidebar entry is a page of the admin named by its URL; it is shown only to a viewer who
may open that page — what its `permission_view` declares, or for a list the model admin's
own view / change check — so the sidebar never offers a link the permission matrix would
refuse."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from unfold.sites import UnfoldAdminSite


class ConsoleSite(UnfoldAdminSite):
    def login(self, request, extra_context=None):
        # unfold's sign-in form carries no `next` field (Django's does): without one the
        # sign-in would land on settings.LOGIN_REDIRECT_URL, outside the console
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            request.GET = request.GET.copy()
            request.GET[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        return super().login(request, extra_context)


@dataclass(frozen=True)
class Entry:
    title: str
    icon: str  # a Material Symbols name (unfold ships the font)
    url_name: str  # an admin URL name, without the namespace


def _e(title, icon: str, url_name: str) -> Entry:
    return Entry(title, icon, url_name)


# The console by the work: what an operator looks for, in the order of a working day.
NAVIGATION: tuple[tuple[object, tuple[Entry, ...]], ...] = (
    (_("Home"), (
        _e(_("Dashboard"), "dashboard", "index"),
    )),
    (_("Members"), (
        _e(_("Members"), "group", "members_member_changelist"),
        _e(_("Tag groups"), "folder", "members_taggroup_changelist"),
        _e(_("Tags"), "sell", "members_tag_changelist"),
        _e(_("Tag rules"), "rule", "members_tagrule_changelist"),
        _e(_("Import tags"), "upload", "members_member_import_tag"),
        _e(_("Tag imports"), "history", "members_tagimportjob_changelist"),
        _e(_("Tag history"), "manage_history", "members_tagchange_changelist"),
        _e(_("Segments"), "groups", "members_segment_changelist"),
        _e(_("RFM segments"), "insights", "members_rfmsegment_changelist"),
        _e(_("RFM runs"), "query_stats", "members_rfmrun_changelist"),
        _e(_("Member activity"), "event_note", "members_memberactivity_changelist"),
    )),
    (_("Points"), (
        _e(_("Earning rules"), "rule_settings", "points_earningrule_changelist"),
        _e(_("Try the rules"), "science", "points_earningrule_try"),
        _e(_("Rewards"), "redeem", "points_reward_changelist"),
        _e(_("Redemptions"), "shopping_bag", "points_rewardredemption_changelist"),
        _e(_("Coupon templates"), "confirmation_number", "points_coupontemplate_changelist"),
        _e(_("Coupons"), "local_activity", "points_coupon_changelist"),
        _e(_("Coupon events"), "receipt", "points_couponevent_changelist"),
        _e(_("Points ledger"), "receipt_long", "points_pointsentry_changelist"),
        _e(_("Points accounts"), "account_balance_wallet", "points_pointsaccount_changelist"),
        _e(_("Points lots"), "inventory_2", "points_pointslot_changelist"),
        _e(_("Points holds"), "lock_clock", "points_pointshold_changelist"),
        _e(_("Points liability"), "account_balance", "points_pointsmonthtotal_changelist"),
        _e(_("Partner programmes"), "handshake", "points_partnerprogramme_changelist"),
        _e(_("Partner exchanges"), "swap_horiz", "points_partnerexchange_changelist"),
        _e(_("Points transfers"), "forward", "points_pointstransfer_changelist"),
        _e(_("Stored-value accounts"), "savings", "points_storedvalueaccount_changelist"),
        _e(_("Stored-value ledger"), "receipt_long", "points_storedvalueentry_changelist"),
        _e(_("Top-up bonus rules"), "add_card", "points_topupbonusrule_changelist"),
        _e(_("Gift card batches"), "inventory", "points_giftcardbatch_changelist"),
        _e(_("Gift cards"), "card_giftcard", "points_giftcard_changelist"),
        _e(_("Gift card ledger"), "receipt", "points_giftcardentry_changelist"),
    )),
    (_("Tiers and benefits"), (
        _e(_("Tier ladder"), "stairs", "tiers_tier_changelist"),
        _e(_("Preview the ladder"), "preview", "tiers_tier_preview"),
        _e(_("Benefits"), "card_giftcard", "tiers_benefit_changelist"),
        _e(_("Benefit grants"), "featured_seasonal_and_gifts", "tiers_benefitgrant_changelist"),
        _e(_("Paid plans"), "workspace_premium", "tiers_paidplan_changelist"),
        _e(_("Paid memberships"), "card_membership", "tiers_paidmembership_changelist"),
        _e(_("Paid purchases"), "payments", "tiers_paidpurchase_changelist"),
        _e(_("Record a paid purchase"), "add_card", "tiers_paidpurchase_record"),
        _e(_("Growth ledger"), "trending_up", "tiers_growthentry_changelist"),
        _e(_("Tier changes"), "swap_vert", "tiers_tierchange_changelist"),
        _e(_("Manual tiers"), "military_tech", "tiers_manualtier_changelist"),
    )),
    (pgettext_lazy("navigation", "Campaigns"), (
        _e(_("Campaigns"), "campaign", "campaigns_campaign_changelist"),
        _e(_("Message templates"), "mail", "campaigns_messagetemplate_changelist"),
        _e(_("Grade targets"), "flag", "campaigns_gradetarget_changelist"),
        _e(_("Campaign runs"), "play_circle", "campaigns_campaignrun_changelist"),
        _e(_("Campaign members"), "person_check", "campaigns_campaignmember_changelist"),
        _e(_("Campaign gifts"), "redeem", "campaigns_campaigngift_changelist"),
        _e(_("Messages"), "sms", "campaigns_message_changelist"),
        _e(_("Sent messages"), "outbox", "campaigns_outboxmessage_changelist"),
        _e(_("Campaign variants"), "call_split", "campaigns_campaignvariant_changelist"),
        _e(_("Lotteries"), "casino", "campaigns_lottery_changelist"),
        _e(_("Lottery draws"), "confirmation_number", "campaigns_lotterydraw_changelist"),
        _e(_("Check-ins"), "event_available", "campaigns_checkin_changelist"),
        _e(_("Tasks"), "task_alt", "campaigns_task_changelist"),
        _e(_("Task completions"), "done_all", "campaigns_taskcompletion_changelist"),
    )),
    (_("Stores"), (
        _e(_("Stores"), "storefront", "members_store_changelist"),
        _e(_("Staff"), "badge", "auth_user_changelist"),
        _e(_("Orders"), "shopping_cart", "members_order_changelist"),
    )),
    (_("Reports"), (
        _e(_("Points liability"), "account_balance", "points_pointsmonthtotal_changelist"),
        _e(_("Cost per tier"), "price_check", "tiers_benefit_cost"),
        _e(_("Prepaid liability"), "account_balance_wallet",
           "points_storedvaluebonuslot_changelist"),
        _e(_("Paid membership figures"), "bar_chart", "tiers_paid_figures"),
        _e(_("Campaign results"), "monitoring", "campaigns_campaign_changelist"),
    )),
    (_("Settings"), (
        _e(_("Member settings"), "tune", "members_membersettings_changelist"),
        _e(_("Points settings"), "tune", "points_pointssettings_changelist"),
        _e(_("Tier settings"), "tune", "tiers_tiersettings_changelist"),
        _e(_("Check-in settings"), "tune", "campaigns_checkinsettings_changelist"),
        _e(_("Contact policy"), "policy", "campaigns_contactpolicy_changelist"),
        _e(_("API keys"), "key", "loyalty_apikey_changelist"),
        _e(_("Webhook subscriptions"), "webhook", "loyalty_webhooksubscription_changelist"),
        _e(_("Webhook deliveries"), "outbox", "loyalty_webhookdelivery_changelist"),
        _e(_("Roles"), "admin_panel_settings", "auth_group_changelist"),
        _e(_("Scheduled jobs"), "schedule", "django_celery_beat_periodictask_changelist"),
        _e(_("Access events"), "visibility", "members_accessevent_changelist"),
        _e(_("Admin log"), "history_edu", "admin_logentry_changelist"),
        _e(_("Login attempts"), "login", "axes_accessattempt_changelist"),
        _e(_("Login failures"), "no_accounts", "axes_accessfailurelog_changelist"),
    )),
)


# lists reached from another page rather than the sidebar: the schedules a periodic task
# (Scheduled jobs) is set to
NOT_IN_SIDEBAR = frozenset({
    "django_celery_beat_crontabschedule_changelist",
    "django_celery_beat_clockedschedule_changelist",
    "django_celery_beat_intervalschedule_changelist",
    "django_celery_beat_solarschedule_changelist",
})


@lru_cache(maxsize=None)
def _page(url_name: str) -> tuple[str, object] | None:
    """What a page's permission is read from (the URL conf does not change while running):
    ("declared", permissions) or ("list", model admin); None for a page this installation
    does not have."""
    try:
        match = resolve(reverse(f"admin:{url_name}"))
    except (NoReverseMatch, Resolver404):
        return None
    declared = getattr(match.func, "required_permissions", None)
    if declared is not None:
        return ("declared", tuple(declared))
    model_admin = getattr(match.func, "model_admin", None)
    if model_admin is not None and url_name.endswith("_changelist"):
        return ("list", model_admin)
    return None


def may_open(request, url_name: str) -> bool:
    """Whether the viewer may open this admin page (no arguments): what the page declares
    (`core.admin.permission_view`), or for a list what its model admin allows."""
    if url_name == "index":
        return True
    page = _page(url_name)
    if page is None:
        return False
    kind, target = page
    if kind == "declared":
        return request.user.has_perms(target)
    return target.has_view_or_change_permission(request)


@lru_cache(maxsize=None)
def _link(url_name: str) -> str:
    return reverse(f"admin:{url_name}")


def navigation(request) -> list[dict]:
    """The sidebar for this viewer: each group with the entries they may open; a group
    with none is left out."""
    groups = []
    for title, entries in NAVIGATION:
        items = [{"title": entry.title, "icon": entry.icon,
                  "link": _link(entry.url_name)}
                 for entry in entries if may_open(request, entry.url_name)]
        if items:
            groups.append({"title": title, "items": items})
    return groups
