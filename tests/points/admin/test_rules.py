"""The earning-rule admin (points.admin.rules): adding and editing rules (every edit a new
version), old versions and deletion refused, validation shown on the form, the stacking help
on the page, and the "try it" page that runs a basket for a member and writes nothing."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from loyalty.services import intake
from members.models import MemberTag, Tag
from points.admin.rules import award_count_text
from points.models.rules import EarningRule, RuleBudget
from points.selectors.rules import earning_rule_versions
from points.services.rule_versions import earning_rule_save
from points.services.rules import STACKING_HELP, Reason
from tests.conftest import SHANGHAI
from tests.points.helpers import sale_input

pytestmark = pytest.mark.django_db

D = Decimal
ADD = "admin:points_earningrule_add"
CHANGELIST = "admin:points_earningrule_changelist"
TRY = "admin:points_earningrule_try"


def form_data(**overrides) -> dict:
    """What the add/change form posts for a 2-points-per-yuan tea rule."""
    data = {
        "name": "Tea double", "rule_key": "tea-double", "is_active": "on", "event": "sale",
        "custom_event": "", "beneficiary": "member", "priority": "50",
        "formula": "per_yuan", "fixed_points": "0", "points_per_yuan": "2", "rounding": "down",
        "multiplier": "1", "categories": "tea", "exclude_categories": "", "skus": "",
        "exclude_skus": "", "min_order_amount": "", "valid_from_0": "", "valid_from_1": "",
        "valid_until_0": "", "valid_until_1": "", "month_days": "", "cap_period": "",
        "cap_times": "", "cap_points": "", "budget_points": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def change_url(rule: EarningRule) -> str:
    return reverse("admin:points_earningrule_change", args=[rule.pk])


def footprint() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM points_pointsentry),"
            " (SELECT count(*) FROM points_ruleaward),"
            " (SELECT COALESCE(SUM(spent), 0) FROM points_rulebudget),"
            " (SELECT count(*) FROM points_pointslot), (SELECT count(*) FROM points_pointsaccount),"
            " (SELECT count(*) FROM points_earningrule)")
        return cursor.fetchone()


def test_the_add_form_creates_a_rule(admin_client, admin_user, store):
    gold = Tag.objects.create(code="gold", name="金卡")

    response = admin_client.post(reverse(ADD), form_data(
        store_codes=[store.code], tag_ids=[str(gold.pk)], weekdays=["6", "7"],
        month_days="8, 18", cap_period="day", cap_points="500", budget_points="10000",
        min_order_amount="50.00", valid_from_0="2026-03-01", valid_from_1="00:00:00",
        valid_until_0="2026-04-01", valid_until_1="00:00:00"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = EarningRule.objects.get(rule_key="tea-double")
    assert (rule.version, rule.is_current, rule.created_by_id) == (1, True, admin_user.pk)
    assert (rule.formula, rule.points_per_yuan, rule.categories) == ("per_yuan", D("2"), ["tea"])
    assert (rule.store_codes, rule.tag_ids, rule.weekdays, rule.month_days) == (
        [store.code], [gold.pk], [6, 7], [8, 18])
    assert (rule.cap_period, rule.cap_points, rule.min_order_amount) == ("day", 500, D("50.00"))
    assert (rule.valid_from, rule.valid_until) == (  # entered in Beijing time
        datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 4, 1, tzinfo=SHANGHAI))
    # saved through the service: the budget is split into shards
    assert RuleBudget.objects.filter(rule_key="tea-double").count() == 8
    assert sum(RuleBudget.objects.values_list("allotted", flat=True)) == 10_000


def test_the_add_form_refuses_a_used_rule_code(admin_client):
    response = admin_client.post(reverse(ADD), form_data(rule_key="purchase"))

    assert response.status_code == 200
    assert "rule_key" in response.context["adminform"].form.errors
    assert EarningRule.objects.filter(rule_key="purchase").count() == 1


def test_editing_creates_a_new_version(admin_client, admin_user, now):
    v1 = earning_rule_save(rule=EarningRule(rule_key="tea-double", name="Tea double",
                                            event="sale", formula="per_yuan",
                                            points_per_yuan=D("2"), categories=["tea"],
                                            priority=50), user_id=None, now=now)

    response = admin_client.post(change_url(v1), form_data(points_per_yuan="3"), follow=True)

    assert response.status_code == 200
    versions = list(EarningRule.objects.filter(rule_key="tea-double").order_by("version")
                    .values_list("version", "is_current", "points_per_yuan", "created_by_id"))
    assert versions == [(1, False, D("2"), None), (2, True, D("3"), admin_user.pk)]
    assert "2" in " ".join(str(m) for m in response.context["messages"])

    current = admin_client.get(reverse(CHANGELIST), {"q": "tea-double"})
    every = admin_client.get(reverse(CHANGELIST), {"q": "tea-double", "versions": "all"})
    assert [r.version for r in current.context["cl"].result_list] == [2]
    assert sorted(r.version for r in every.context["cl"].result_list) == [1, 2]
    # the default list shows one row per rule: the defaults plus this one
    assert len(admin_client.get(reverse(CHANGELIST)).context["cl"].result_list) == (
        EarningRule.objects.filter(is_current=True).count())


def test_an_old_version_cannot_be_changed(admin_client, now):
    v1 = earning_rule_save(rule=EarningRule(rule_key="tea-double", name="Tea double",
                                            event="sale", formula="per_yuan",
                                            points_per_yuan=D("2"), categories=["tea"],
                                            priority=50), user_id=None, now=now)
    assert admin_client.post(change_url(v1), form_data(points_per_yuan="3")).status_code == 302
    assert EarningRule.objects.filter(rule_key="tea-double").count() == 2

    response = admin_client.post(change_url(v1), form_data(points_per_yuan="5"))

    assert response.status_code == 403
    assert sorted(EarningRule.objects.filter(rule_key="tea-double")
                  .values_list("version", "points_per_yuan")) == [(1, D("2")), (2, D("3"))]
    # it can still be looked at, read-only
    page = admin_client.get(change_url(v1))
    assert page.status_code == 200 and page.context["has_change_permission"] is False


def test_rules_cannot_be_deleted(admin_client):
    rule = EarningRule.objects.get(rule_key="purchase")

    delete = admin_client.post(reverse("admin:points_earningrule_delete", args=[rule.pk]),
                               {"post": "yes"})
    bulk = admin_client.post(reverse(CHANGELIST), {"action": "delete_selected",
                                                   "_selected_action": [rule.pk], "post": "yes"})

    assert delete.status_code == 403
    assert bulk.status_code in (200, 302)
    assert EarningRule.objects.filter(pk=rule.pk).exists()
    action_form = admin_client.get(reverse(CHANGELIST)).context["action_form"]
    assert action_form is None or "delete_selected" not in dict(
        action_form.fields["action"].choices)


@pytest.mark.parametrize(("fields", "field"), [
    ({"formula": "fixed", "fixed_points": "0"}, "fixed_points"),
    ({"event": "registration", "formula": "per_yuan"}, "formula"),
    ({"formula": "multiplier", "multiplier": "1"}, "multiplier"),
    ({"event": "custom", "custom_event": "", "formula": "fixed", "fixed_points": "10"},
     "custom_event"),
    ({"cap_period": "week"}, "cap_period"),
    ({"valid_from_0": "2026-04-01", "valid_from_1": "00:00:00", "valid_until_0": "2026-03-01",
      "valid_until_1": "00:00:00"}, "valid_until"),
])
def test_the_form_shows_errors_for_invalid_rules(admin_client, fields, field):
    before = EarningRule.objects.count()

    response = admin_client.post(reverse(ADD), form_data(**fields))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert escape(errors[field][0]) in response.content.decode()
    assert EarningRule.objects.count() == before


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_stacking_help_is_on_the_form(admin_client, language):
    response = admin_client.get(reverse(ADD), HTTP_ACCEPT_LANGUAGE=language)

    with translation.override(language):
        help_text = str(STACKING_HELP)
    html = response.content.decode()
    assert help_text in html or escape(help_text) in html
    if language == "en":
        assert "Multipliers multiply the points of the lines they match" in html


def test_the_changelist_links_to_try_it(admin_client):
    response = admin_client.get(reverse(CHANGELIST))

    assert reverse(TRY) in response.content.decode()


def test_try_it_runs_a_basket_for_a_member_and_writes_nothing(admin_client, store, member,
                                                               now):
    earning_rule_save(rule=EarningRule(rule_key="tea-double", name="Tea double", event="sale",
                                       formula="multiplier", multiplier=D("2"),
                                       categories=["tea"], priority=50, budget_points=10_000),
                      user_id=None, now=now)
    earning_rule_save(rule=EarningRule(rule_key="snack-bonus", name="Snack bonus", event="sale",
                                       formula="fixed", fixed_points=10, categories=["snack"]),
                      user_id=None, now=now)
    before = footprint()

    response = admin_client.post(reverse(TRY), {
        "member": member.member_no, "event": "sale", "store": store.code,
        "basket": "TEA-01, tea, 68.00\nCOF-01，coffee，30.00\n", "custom_event": "",
        "occurred_at": "2026-03-14 10:30:00"})

    assert response.status_code == 200, response.context["form"].errors
    assert footprint() == before
    results = {r.rule.rule_key: (r.points, r.reason) for r in response.context["results"]}
    # purchase: tea 68 × 2 + coffee 30 = 166; the multiplier's extra is part of it
    assert results["purchase"] == (166, Reason.AWARDED)
    assert results["tea-double"] == (68, Reason.AWARDED)
    assert results["snack-bonus"] == (0, Reason.OUT_OF_SCOPE)
    assert response.context["total"] == 166
    html = response.content.decode()
    assert "166" in html
    for result in response.context["results"]:
        assert escape(result.reason_text) in html
        assert escape(result.rule.name) in html


def test_try_it_shows_a_reached_cap(admin_client, member, now):
    from loyalty.services.intake import record_activity
    from members.services.activity import ActivityInput

    record_activity(data=ActivityInput(member_id=member.pk, kind="checkin", source_key="c-1",
                                       occurred_at=now), now=now)
    before = footprint()

    response = admin_client.post(reverse(TRY), {
        "member": member.member_no, "event": "checkin", "basket": "",
        "occurred_at": now.strftime("%Y-%m-%d %H:%M:%S")})

    assert response.status_code == 200
    assert [(r.rule.rule_key, r.points, r.reason) for r in response.context["results"]] == [
        ("daily-checkin", 0, Reason.CAP_REACHED)]
    assert footprint() == before


def test_try_it_needs_a_known_member_and_a_readable_basket(admin_client, member):
    unknown = admin_client.post(reverse(TRY), {"member": "0999999999", "event": "sale",
                                               "basket": "TEA-01, tea, 68.00"})
    unreadable = admin_client.post(reverse(TRY), {"member": member.member_no, "event": "sale",
                                                  "basket": "TEA-01, tea, lots"})

    assert unknown.context["form"].errors["member"]
    assert unreadable.context["form"].errors["basket"]
    assert unknown.context["results"] is None and unreadable.context["results"] is None


def test_try_it_is_for_people_who_may_see_the_rules(client, django_user_model, member):
    """A staff user without access to the earning rules (a clerk) cannot run the page."""
    from loyalty.roles import CLERKS, roles_sync

    clerk = django_user_model.objects.create_user("clerk1", password="x", is_staff=True)
    clerk.groups.add(roles_sync()[CLERKS])
    client.force_login(clerk)

    page = client.get(reverse(TRY))
    run = client.post(reverse(TRY), {"member": member.member_no, "event": "sale",
                                     "basket": "TEA-01, tea, 68.00"})

    assert (page.status_code, run.status_code) == (403, 403)


def test_the_tag_condition_reads_member_tags_in_try_it(admin_client, member, now):
    vip = Tag.objects.create(code="vip", name="VIP")
    earning_rule_save(rule=EarningRule(rule_key="vip-bonus", name="VIP bonus", event="sale",
                                       formula="per_yuan", points_per_yuan=D("1"),
                                       tag_ids=[vip.pk]), user_id=None, now=now)

    def vip_result():
        response = admin_client.post(reverse(TRY), {"member": member.member_no, "event": "sale",
                                                    "basket": "TEA-01, tea, 68.00"})
        return {r.rule.rule_key: (r.points, r.reason)
                for r in response.context["results"]}["vip-bonus"]

    assert vip_result() == (0, Reason.TAG_MISSING)
    MemberTag.objects.create(member=member, tag=vip, added_at=now)
    assert vip_result() == (68, Reason.AWARDED)


def test_a_read_only_user_can_open_a_rule_and_try_it(client, django_user_model, member):
    """Finance sees the rules without changing them: the rule page opens read-only (it
    crashed building the form without fields) and the "try it" page runs."""
    from loyalty.roles import FINANCE, roles_sync

    reader = django_user_model.objects.create_user("finance1", password="x", is_staff=True)
    reader.groups.add(roles_sync()[FINANCE])
    client.force_login(reader)
    rule = EarningRule.objects.get(rule_key="purchase")

    page = client.get(change_url(rule))
    edit = client.post(change_url(rule), form_data(rule_key="purchase", points_per_yuan="9"))
    tried = client.post(reverse(TRY), {"member": member.member_no, "event": "sale",
                                       "basket": "TEA-01, tea, 68.00"})

    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert edit.status_code == 403
    assert EarningRule.objects.filter(rule_key="purchase").count() == 1
    assert tried.status_code == 200
    assert [(r.rule.rule_key, r.points) for r in tried.context["results"]] == [("purchase", 68)]


def test_try_it_applies_the_benefit_multiplier_last(admin_client, store, member, now):
    response = admin_client.post(reverse(TRY), {
        "member": member.member_no, "event": "sale", "store": store.code,
        "basket": "TEA-01, tea, 68.00\n", "custom_event": "", "tier_multiplier": "1.5",
        "occurred_at": "2026-03-14 10:30:00"})
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["total"] == 102  # 68 points for ¥68, × 1.5
    refused = admin_client.post(reverse(TRY), {
        "member": member.member_no, "event": "sale", "basket": "TEA-01, tea, 68.00\n",
        "tier_multiplier": "0.5"})
    assert refused.context["form"].errors["tier_multiplier"]


VERSION_ROW = re.compile(r"<tr><td>v(\d+)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td></tr>")


def test_the_versions_table_counts_each_versions_awards(admin_client, store, member, now):
    """Two sales paid by version 1 of the purchase rule, one by version 2: the table on the
    rule's page says so (it showed "-" when the count clashed with the `awards` relation)."""
    def sale(order_no: str, at: datetime) -> None:
        intake.record_sale(sale=sale_input(store, member.pk, at, order_no, amount="68.00"),
                           now=at)

    purchase = EarningRule.objects.get(rule_key="purchase", is_current=True)
    sale("A-1", now)
    sale("A-2", now)
    edited = admin_client.post(change_url(purchase), form_data(
        name=purchase.name, rule_key="purchase", event="sale", formula="per_yuan",
        points_per_yuan="2", categories="", priority=str(purchase.priority)))
    assert edited.status_code == 302, edited.context["adminform"].form.errors
    current = EarningRule.objects.get(rule_key="purchase", is_current=True)
    sale("A-3", now)

    page = admin_client.get(change_url(current))

    assert page.status_code == 200
    rows = VERSION_ROW.findall(page.content.decode())
    assert rows == [(str(current.version), "1"), (str(purchase.version), "2")]


def test_the_versions_table_never_counts_past_its_bound(admin_client, store, member, now):
    for n in range(3):
        intake.record_sale(sale=sale_input(store, member.pk, now, f"B-{n}"), now=now)

    capped = {r.version: r.award_count for r in earning_rule_versions("purchase", count_up_to=2)}
    exact = {r.version: r.award_count for r in earning_rule_versions("purchase", count_up_to=5)}

    assert capped == {1: 3} and exact == {1: 3}  # 3 = beyond a bound of 2
    assert {r.award_count for r in earning_rule_versions("purchase", count_up_to=1)} == {2}
    assert award_count_text(10_000) == "10,000" and award_count_text(10_001) == "10,000+"
    with CaptureQueriesContext(connection) as ctx:
        admin_client.get(change_url(EarningRule.objects.get(rule_key="purchase")))
    counts = [q["sql"] for q in ctx.captured_queries if "points_ruleaward" in q["sql"]]
    assert counts and all("LIMIT" in sql for sql in counts)
