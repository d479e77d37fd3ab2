"""Every admin page as every role uses it: for each registered model and each role (the demo's
programme admin, operator, clerk and finance logins, the auditors, a superuser), the list,
the add page and the change page of a real row answer 200 where the role may see them and
403 where it may not — never an error — and a save posted as a browser would post it (the
page's own values, plus what a new row needs) goes through wherever the role may add or
change. The autocomplete lookups an editable page uses answer too, since a select that
cannot be filled cannot be saved; the pages an admin adds of its own answer or refuse; and a
list offers a role only the actions its permissions allow. (Which role may open which page
is the permission matrix's business: test_permission_matrix.py.)"""

from __future__ import annotations

import traceback
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from django_celery_beat.models import IntervalSchedule

from campaigns.models import Campaign
from loyalty import roles
from members.models import Tag
from tests.loyalty.admin_world import SUPERUSER, World, build_world

pytestmark = pytest.mark.django_db

ROLES = (*(role.name for role in roles.ROLES), SUPERUSER)
MODELS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
READ_ONLY_ROLES = (roles.FINANCE, roles.AUDITORS)

# The only models these roles may add or change in the admin (roles.py): finance and
# auditors read, a clerk works at the counter (no admin page), a programme admin manages
# staff and keys. Operators and superusers are not limited here.
WRITES = {roles.FINANCE: set(), roles.AUDITORS: set(), roles.CLERKS: set(),
          roles.PROGRAMME_ADMINS: {"auth.User", "loyalty.ApiKey", "loyalty.WebhookSubscription"}}

# What a new row needs on top of the add page's own initial values, per model. Every model
# a role may add in the admin must be here, so a newly registered admin gets its save tested.
# A value may be a function of the world, for rows the new one points at.
# what saving an add form answers when it is not the usual redirect: issuing gift cards
# answers the CSV of their codes and PINs, the one time they are seen
ADD_ANSWERS = {"points.GiftCardBatch": 200}

ADD_DATA: dict[str, dict] = {
    "auth.Group": {"name": "store managers"},
    "auth.User": {"username": "newcomer", "password1": "Lantern-Orchid-2026",
                  "password2": "Lantern-Orchid-2026"},
    "campaigns.Campaign": {"code": "autumn", "name": "秋季回馈", "trigger": "once",
                           "run_at_0": "2026-09-01", "run_at_1": "10:00:00",
                           "control_percent": "10", "grade": "B"},
    "campaigns.CampaignVariant": {"campaign": lambda world: str(
        Campaign.objects.order_by("pk").first().pk), "code": "Z", "weight": "1"},
    "campaigns.Lottery": {"code": "autumn-lottery", "name": "秋季抽奖", "cost_kind": "points",
                          "cost_points": "10"},
    "campaigns.Task": {"code": "buy-3", "name": "本月购买3次", "goal": "purchases",
                       "target_count": "3", "lottery_entries": "0", "sort_order": "0"},
    "campaigns.MessageTemplate": {"code": "welcome", "name": "欢迎", "channel": "sms",
                                  "kind": "service", "body": "欢迎{name}"},
    "django_celery_beat.ClockedSchedule": {"clocked_time_0": "2026-05-01",
                                           "clocked_time_1": "10:00:00"},
    "django_celery_beat.CrontabSchedule": {"minute": "30", "hour": "4"},
    "django_celery_beat.IntervalSchedule": {"every": "5", "period": "minutes"},
    "django_celery_beat.PeriodicTask": {
        "name": "nightly heartbeat", "regtask": "loyalty.tasks.health_heartbeat",
        "interval": lambda world: str(IntervalSchedule.objects.first().pk)},
    "django_celery_beat.SolarSchedule": {"event": "sunset", "latitude": "39.9",
                                         "longitude": "116.4"},
    "loyalty.ApiKey": {"name": "pos terminal", "scopes": ["members:read", "orders:write"]},
    "loyalty.WebhookSubscription": {"name": "CRM 2", "url": "http://127.0.0.1:9/in",
                                    "event_types": ["member.registered", "points.earned"],
                                    "is_active": "on"},
    "members.Member": {"mobile": "13900139000", "name": "李娜"},
    "members.RfmSegment": {"code": "newcomers", "name": "新客"},
    "members.Segment": {"code": "men", "name": "男性会员", "expression": "gender:male"},
    "members.Store": {"code": "BJ001", "name": "北京三里屯店"},
    "members.Tag": {"code": "foodie", "name": "美食家"},
    "members.TagGroup": {"name": "服务"},
    "members.TagRule": {"tag": lambda world: str(Tag.objects.create(
        code="frequent", name="常客", kind=Tag.Kind.RULE).pk)},
    "points.CouponTemplate": {"name": "满100减10", "kind": "spend_save", "threshold": "100",
                              "amount": "10", "valid_days": "30"},
    "points.EarningRule": {"name": "茶叶双倍", "rule_key": "tea-double", "event": "sale",
                           "formula": "per_yuan", "points_per_yuan": "2",
                           "categories": "tea"},
    "points.PartnerProgramme": {"code": "rail", "name": "铁路积分", "rate_in": "1",
                                "rate_out": "1"},
    "points.Reward": {"name": "雨伞", "kind": "goods", "points_cost": "300"},
    "points.TopUpBonusRule": {"name": "充1000送120", "min_amount": "1000", "bonus": "120",
                              "bonus_valid_days": "365"},
    "points.GiftCardBatch": {"name": "春节礼品卡", "face_value": "100", "quantity": "3",
                             "valid_days": "365"},
    "tiers.Benefit": {"code": "lounge", "name": "贵宾休息室", "kind": "priority_service"},
    "tiers.PaidPlan": {"code": "monthly", "name": "月卡会员", "duration_months": "1",
                       "price": "19.90"},
    "tiers.Tier": {"code": "platinum", "name": "铂金", "rank": "50", "min_growth": "60000",
                   "tag": lambda world: str(Tag.objects.create(
                       code="tier-platinum", name="铂金", kind=Tag.Kind.SYSTEM).pk)},
}


def add_data(model, world) -> dict:
    return {name: value(world) if callable(value) else value
            for name, value in ADD_DATA[model._meta.label].items()}


class FormValues(HTMLParser):
    """The values a browser would submit for one <form>: checked boxes, selected options
    (or a single select's first option), text areas; the empty inline template is left out."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.values: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values.append((name, a.get("value") or "on"))
                return
            self.values.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in a, "chosen": [],
                            "first": None}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "option" and self._option is not None:
            option, self._option = self._option, None
            value = option["value"] if option["value"] is not None else option["text"].strip()
            if self._select["first"] is None:
                self._select["first"] = value
            if option["selected"]:
                self._select["chosen"].append(value)
        elif tag == "select" and self._select is not None:
            select, self._select = self._select, None
            chosen = select["chosen"]
            if not chosen and not select["multiple"] and select["first"] is not None:
                chosen = [select["first"]]
            self.values.extend((select["name"], v) for v in chosen)
        elif tag == "textarea" and self._textarea is not None:
            area, self._textarea = self._textarea, None
            text = area["text"].removeprefix("\n")
            self.values.append((area["name"], text))

    def data(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for name, value in self.values:
            if "__prefix__" not in name:
                result.setdefault(name, []).append(value)
        return result


def form_values(response, model) -> dict[str, list[str]]:
    parser = FormValues(f"{model._meta.model_name}_form")
    parser.feed(response.content.decode())
    return parser.data()


def form_errors(response) -> str:
    context = response.context or {}
    if "adminform" not in context:
        return f"status {response.status_code}"
    errors = [dict(context["adminform"].form.errors)]
    for formset in context.get("inline_admin_formsets", []):
        errors += [e for e in formset.formset.errors if e] + list(
            formset.formset.non_form_errors())
    return repr(errors)


def expected(allowed: bool) -> int:
    return 200 if allowed else 403


class Visit:
    """One role going through the admin, noting every page that does not answer as it
    should instead of stopping at the first."""

    def __init__(self, world: World, role: str):
        self.world, self.role, self.user = world, role, world.users[role]
        self.client = Client()
        self.client.force_login(self.user)
        self.problems: list[str] = []

    def request(self):
        request = RequestFactory().get("/admin/")
        request.user = self.user
        return request

    def call(self, label: str, method: str, url: str, data=None):
        try:
            if method == "get":
                return self.client.get(url, data or {}, follow=True)
            return self.client.post(url, data or {})
        except Exception:  # noqa: BLE001  (a page that raises is what this test looks for)
            self.problems.append(f"{label}: {method.upper()} {url} raised\n"
                                 f"{traceback.format_exc(limit=-3)}")
            return None

    def check(self, label: str, response, wanted: int) -> bool:
        if response is None:
            return False
        if response.status_code != wanted:
            self.problems.append(f"{label}: {response.status_code}, expected {wanted}")
            return False
        return True


def sample(model):
    if hasattr(model, "load"):  # a singleton's row is made on first use
        return model.load()
    return model.objects.order_by("pk").first()


def autocompletes(model_admin, request, obj) -> list[tuple[object, str]]:
    """(model, field) of the autocomplete selects the page shows the role as editable."""
    fields = model_admin.get_form(request, obj, change=obj is not None).base_fields
    found = [(model_admin.model, f) for f in model_admin.get_autocomplete_fields(request)
             if f in fields]
    for inline in model_admin.get_inline_instances(request, obj):
        if inline.has_add_permission(request, obj) or inline.has_change_permission(request, obj):
            fields = inline.get_formset(request, obj).form.base_fields
            found += [(inline.model, f) for f in inline.get_autocomplete_fields(request)
                      if f in fields]
    return found


def visit_model(visit: Visit, model, model_admin) -> None:
    opts = model._meta
    label = f"{opts.label} as {visit.user.username}"
    request = visit.request()
    obj = sample(model)
    assert obj is not None, f"the world has no {opts.label}"

    try:
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        changelist = None
    if changelist:
        visit.check(f"{label} list", visit.call(label, "get", changelist),
                    expected(model_admin.has_view_or_change_permission(request)))

    try:
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    except NoReverseMatch:
        # a report registered as an admin (the liability page): a list, no records to open
        assert changelist and not model_admin.has_add_permission(request)
        return
    may_add = model_admin.has_add_permission(request)
    page = visit.call(label, "get", add)
    if visit.check(f"{label} add page", page, expected(may_add)) and may_add:
        if opts.label not in ADD_DATA:
            visit.problems.append(f"{label}: may add but ADD_DATA has no row for it")
        else:
            data = {**form_values(page, model), **add_data(model, visit.world),
                    "_save": "Save"}
            before = model.objects.count()
            saved = visit.call(label, "post", add, data)
            if visit.check(f"{label} add save ({form_errors(saved) if saved else ''})",
                           saved, ADD_ANSWERS.get(opts.label, 302)
                           ) and model.objects.count() != before + 1:
                visit.problems.append(f"{label}: add save wrote no row")

    may_view = model_admin.has_view_or_change_permission(request, obj)
    may_change = model_admin.has_change_permission(request, obj)
    if (may_add or may_change) and opts.label not in WRITES.get(visit.role, {opts.label}):
        visit.problems.append(f"{label}: this role may write here")
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    page = visit.call(label, "get", change)
    if visit.check(f"{label} change page", page, expected(may_view)) and may_change:
        data = {**form_values(page, model), "_save": "Save"}
        saved = visit.call(label, "post", change, data)
        visit.check(f"{label} change save ({form_errors(saved) if saved else ''})", saved, 302)

    pages = ([None] if may_add else []) + ([obj] if may_change else [])
    for target, field in {lookup for page_obj in pages
                          for lookup in autocompletes(model_admin, request, page_obj)}:
        url = reverse("admin:autocomplete")
        params = {"app_label": target._meta.app_label, "model_name": target._meta.model_name,
                  "field_name": field}
        visit.check(f"{label} autocomplete of {target._meta.label}.{field}",
                    visit.call(label, "get", url, params), 200)


def visit_own_pages(visit: Visit, model, model_admin) -> None:
    """The pages an admin adds of its own (adjust points, redeem, try the rules, figures …):
    the role sees them or is refused, never an error."""
    opts = model._meta
    standard = {f"{opts.app_label}_{opts.model_name}_{view}"
                for view in ("changelist", "add", "change", "delete", "history")}
    obj = sample(model)
    for pattern in model_admin.get_urls():
        if not pattern.name or pattern.name in standard or not hasattr(pattern, "pattern"):
            continue
        args = [obj.pk] * len(pattern.pattern.converters)
        url = reverse(f"admin:{pattern.name}", args=args)
        label = f"{pattern.name} as {visit.user.username}"
        response = visit.call(label, "get", url)
        if response is None or response.status_code in (200, 403):
            continue
        if response.status_code == 400 and "error" in response.json():
            continue  # a lookup asked nothing (the live segment count): it says why
        visit.problems.append(f"{label}: {response.status_code}")


def visit_actions(visit: Visit, model, model_admin) -> None:
    """A list's actions write: each of the programme's declares the permission it needs, so
    a role that may only look (finance) is offered none."""
    label = f"{model._meta.label} as {visit.user.username}"
    request = visit.request()
    if not model_admin.has_view_or_change_permission(request):
        return  # no list, no actions
    for name, (action, _name, _text) in model_admin.get_actions(request).items():
        if model._meta.app_label in roles.PROGRAMME_APPS and not getattr(
                action, "allowed_permissions", None):
            visit.problems.append(f"{label}: action {name} needs no permission")
        if visit.role in READ_ONLY_ROLES:
            visit.problems.append(f"{label}: the read-only role is offered {name}")


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_answers_for_every_role(role):
    world = build_world()
    visit = Visit(world, role)
    for model, model_admin in MODELS:
        visit_model(visit, model, model_admin)
        visit_own_pages(visit, model, model_admin)
        visit_actions(visit, model, model_admin)
    assert not visit.problems, "\n".join(visit.problems)
