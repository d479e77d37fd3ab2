"""The people who use the back office, as data: five roles, each a Django group with exactly
the permissions its work needs. A data migration creates the groups and every `migrate`
refreshes their permissions (loyalty.apps), so a production install has them without the
demo. The permission-matrix test derives what each role may open from this module alone.

- programme admin: staff accounts, their roles and stores, API keys, webhook subscriptions
  (and re-sending their deliveries);
- operator: the whole programme — rules, tiers, benefits, rewards, coupons, tags, segments,
  campaigns, settings — but no staff and no keys;
- clerk: the counter page (/counter/) at the stores they are bound to — no admin page at
  all: no admin permission, and the admin answers 403 to an account whose roles are all
  counter roles (`admin_refused`);
- finance: reads figures, the ledger and liability; sees mobiles masked;
- auditor: reads everything, the audit trail and the access events included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

PROGRAMME_ADMINS = "programme_admins"
OPERATORS = "operators"
CLERKS = "clerks"
FINANCE = "finance"
AUDITORS = "auditors"

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
ALL = (VIEW, ADD, CHANGE, DELETE)

PROGRAMME_APPS = ("members", "points", "tiers", "campaigns", "loyalty")
# What the programme holds about members; keys, staff and the access record are not in it.
PROGRAMME_DATA = ("members", "points", "tiers", "campaigns")
NOT_PROGRAMME_DATA = ("members.storestaff", "members.accessevent", "members.membernote")

FULL_MOBILE = "members.view_full_mobile"
ALL_STORES = "members.act_for_all_stores"
RESEND_WEBHOOKS = "loyalty.resend_webhookdelivery"


@dataclass(frozen=True)
class Grant:
    """Verbs on every model of an app ("members") or on one model ("members.member"),
    leaving out some models of an app-wide grant."""

    target: str
    verbs: tuple[str, ...]
    excluding: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    name: str  # the group's name
    label: str
    grants: tuple[Grant, ...]
    extra: tuple[str, ...] = field(default=())  # custom permissions, "app.codename"
    admin: bool = True  # False: the role works at the counter only; the admin refuses it


ROLES: tuple[Role, ...] = (
    Role(PROGRAMME_ADMINS, _("Programme admins"), (
        Grant("auth.user", (VIEW, ADD, CHANGE)),
        Grant("auth.group", (VIEW,)),
        Grant("members.storestaff", ALL),
        Grant("members.store", (VIEW,)),
        Grant("loyalty.apikey", (VIEW, ADD, CHANGE)),
        Grant("loyalty.webhooksubscription", (VIEW, ADD, CHANGE)),
        Grant("loyalty.webhookdelivery", (VIEW,)),
        Grant("axes.accessattempt", (VIEW, DELETE)),  # deleting lifts a lockout
        Grant("axes.accessfailurelog", (VIEW,)),
    ), extra=(RESEND_WEBHOOKS,)),
    Role(OPERATORS, _("Operators"), (
        Grant("members", ALL, excluding=NOT_PROGRAMME_DATA),
        Grant("points", ALL), Grant("tiers", ALL), Grant("campaigns", ALL),
        Grant("django_celery_beat.periodictask", (VIEW, CHANGE)),
        Grant("loyalty.dashboardfact", (VIEW,)),  # the dashboard's figures
    ), extra=(FULL_MOBILE, ALL_STORES)),
    # the counter checks the role and the store binding itself (loyalty.counter.access)
    Role(CLERKS, _("Clerks"), (), admin=False),
    Role(FINANCE, _("Finance"), (
        *(Grant(app, (VIEW,), excluding=NOT_PROGRAMME_DATA) for app in PROGRAMME_DATA),
        Grant("loyalty.dashboardfact", (VIEW,)),  # the dashboard's figures
    ), extra=(ALL_STORES,)),
    Role(AUDITORS, _("Auditors"), tuple(
        Grant(app, (VIEW,))
        for app in (*PROGRAMME_APPS, "auth", "admin", "axes", "django_celery_beat")
    ), extra=(FULL_MOBILE, ALL_STORES)),
)

ROLE_NAMES = {role.name: role.label for role in ROLES}
BY_NAME = {role.name: role for role in ROLES}
COUNTER_ONLY = frozenset(role.name for role in ROLES if not role.admin)


def admin_refused(user) -> bool:
    """An account whose roles are all counter roles (a clerk) opens no admin page, even
    though it is staff; a superuser, an account with another role or with no role at all
    is left to the admin's own permission checks."""
    if not user.is_authenticated or user.is_superuser:
        return False
    names = set(user.groups.values_list("name", flat=True))
    return bool(names) and names <= COUNTER_ONLY

# Pages the admin never offers, whoever asks: records that enter only through services are
# read, settings are one row that is changed, and rows that others point at are deactivated
# rather than deleted. (A permission may still be needed for a page of its own: adding a
# ledger entry is the "adjust points" page, not the add form.)
RECORDS = ("members.memberactivity", "members.order", "members.rfmrun", "members.tagchange",
           "members.tagimportjob",
           "members.accessevent", "points.coupon", "points.couponevent",
           "points.partnerexchange", "points.pointsaccount", "points.pointsentry",
           "points.pointshold", "points.pointslot", "points.pointsmonthtotal",
           "points.pointstransfer", "tiers.manualtier",
           "points.storedvalueaccount", "points.storedvalueentry", "points.storedvaluebonuslot",
           "points.giftcard", "points.giftcardentry",
           "tiers.benefitgrant", "tiers.growthentry", "tiers.paidmembership",
           "tiers.paidpurchase", "tiers.tierchange", "admin.logentry",
           "axes.accessfailurelog", "campaigns.campaignrun", "campaigns.campaignmember",
           "campaigns.campaigngift", "campaigns.message", "campaigns.lotterydraw",
           "campaigns.checkin", "campaigns.taskcompletion", "campaigns.outboxmessage",
           "loyalty.webhookdelivery")
SINGLETONS = ("members.membersettings", "points.pointssettings", "tiers.tiersettings",
              "campaigns.checkinsettings",
              "campaigns.gradetarget",  # one row per grade, changed
              "campaigns.contactpolicy")
KEPT = ("loyalty.apikey", "loyalty.webhooksubscription", "points.earningrule",
        "points.topupbonusrule",
        "tiers.benefit", "tiers.paidplan", "tiers.tier", "campaigns.campaign",
        "campaigns.messagetemplate", "campaigns.lottery", "campaigns.task")
NO_PAGE: dict[str, tuple[str, ...]] = {
    **{label: (ADD, CHANGE, DELETE) for label in RECORDS},
    **{label: (ADD, DELETE) for label in SINGLETONS},
    **{label: (DELETE,) for label in KEPT},
    "points.rewardredemption": (ADD, DELETE),  # redeemed on the reward's page; cancelled
    "points.giftcardbatch": (CHANGE, DELETE),  # adding issues the cards; a batch stays
    "axes.accessattempt": (ADD, CHANGE),  # written by the login; deleted to unlock
}


def _models(target: str) -> list[str]:
    if "." in target:
        return [target]
    return [m._meta.label_lower for m in apps.get_app_config(target).get_models()]


def role_permissions(name: str) -> frozenset[str]:
    """The permissions ("app.codename") of a role, from the data above and the installed
    models; reads no database."""
    role = BY_NAME[name]
    perms = set(role.extra)
    for grant in role.grants:
        for label in _models(grant.target):
            if label in grant.excluding:
                continue
            app_label, model = label.split(".")
            perms.update(f"{app_label}.{verb}_{model}" for verb in grant.verbs)
    return frozenset(perms)


def roles_sync() -> dict[str, Group]:
    """Create or refresh the role groups; safe to run again (every `migrate` does)."""
    groups = {}
    for role in ROLES:
        wanted = role_permissions(role.name)
        by_app: dict[str, list[str]] = {}
        for perm in wanted:
            app_label, codename = perm.split(".")
            by_app.setdefault(app_label, []).append(codename)
        perms = []
        for app_label, codenames in by_app.items():
            perms += Permission.objects.filter(content_type__app_label=app_label,
                                               codename__in=codenames)
        group, _created = Group.objects.get_or_create(name=role.name)
        group.permissions.set(perms)
        groups[role.name] = group
    return groups


def role_groups():
    """The groups a programme admin may give a staff account: the roles, nothing else."""
    return Group.objects.filter(name__in=[role.name for role in ROLES])
