"""Benefits and paid membership in the operator console: benefits edited on the tier page
with their parameters, the warning when a higher tier gets less, grants claimed and used by
admin action, a purchase entered by an operator, the cost and figures pages."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tiers.models import Tier
from tiers.models.benefits import BenefitAttachment, BenefitGrant, GrantStatus
from tiers.models.paid import PaidMembership, PaidPurchase
from tiers.selectors.benefits import benefit_isolation_warnings
from tiers.services.benefits import benefit_grants_issue

from ..helpers import attach, benefit, plan
from ..services.test_ladder import register

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def inline_post(tier: Tier, rows: list[dict]) -> dict:
    data = {f: getattr(tier, f) if getattr(tier, f) is not None else ""
            for f in ("code", "name", "rank", "min_growth", "validity_months", "end_policy",
                      "keep_percent", "deduct_numerator", "deduct_denominator",
                      "keep_threshold")}
    data.update({"tag": tier.tag_id, "is_active": "on",
                 "benefit_attachments-TOTAL_FORMS": len(rows),
                 "benefit_attachments-INITIAL_FORMS": 0,
                 "benefit_attachments-MIN_NUM_FORMS": 0,
                 "benefit_attachments-MAX_NUM_FORMS": 1000})
    if tier.requires_first_purchase:
        data["requires_first_purchase"] = "on"
    for i, row in enumerate(rows):
        data.update({f"benefit_attachments-{i}-{k}": v for k, v in row.items()})
    return data


def test_a_higher_tier_with_less_is_warned_about(admin_client):
    double = benefit("double", "points_multiplier")
    ship = benefit("ship", "free_shipping", grant_period="monthly")
    attach(double, tier="silver", multiplier=Decimal("2"))
    attach(ship, tier="silver", quantity=4)
    gold = Tier.objects.get(code="gold")
    response = admin_client.post(
        reverse("admin:tiers_tier_change", args=[gold.pk]),
        inline_post(gold, [{"benefit": double.pk, "multiplier": "1.5"},
                           {"benefit": ship.pk, "quantity": "2"}]), follow=True, **EN)
    assert response.status_code == 200
    assert BenefitAttachment.objects.filter(tier=gold).count() == 2
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("smaller points multiplier (1.5×) than 白银 Silver (2×)" in m for m in shown), shown
    assert any("fewer Free shipping a period (2) than 白银 Silver (4)" in m for m in shown), shown
    # Diamond has none of Silver's benefits
    assert any(w.startswith("钻石 Diamond has no Points multiplier")
               for w in benefit_isolation_warnings())


def test_a_well_ordered_ladder_has_no_warnings(db):
    double = benefit("double", "points_multiplier")
    price = benefit("price", "tier_discount")
    for code, m, r in (("silver", "1.2", "0.98"), ("gold", "1.5", "0.95"), ("diamond", "2", "0.9")):
        attach(double, tier=code, multiplier=Decimal(m))
        attach(price, tier=code, discount_rate=Decimal(r))
    assert benefit_isolation_warnings() == []
    attach(benefit("welcome", "new_member_gift", grant_period="on_joining"),
           tier="registered", quantity=1)
    assert benefit_isolation_warnings() == []  # the entry tier's gift need not be repeated
    attach(benefit("gift", "birthday_gift"), tier="gold")
    assert len(benefit_isolation_warnings()) == 1  # Diamond lacks Gold's birthday gift


def test_a_multiplier_without_its_parameter_is_a_form_error(admin_client):
    double = benefit("double", "points_multiplier")
    gold = Tier.objects.get(code="gold")
    response = admin_client.post(reverse("admin:tiers_tier_change", args=[gold.pk]),
                                 inline_post(gold, [{"benefit": double.pk}]), **EN)
    assert response.status_code == 200
    assert "Give the points multiplier" in response.content.decode()
    assert not BenefitAttachment.objects.exists()


def test_grants_are_claimed_and_used_by_admin_action(admin_client, now):
    ship = benefit("ship", "free_shipping", grant_period="monthly")
    attach(ship, tier="registered", quantity=1)
    member = register(now)
    benefit_grants_issue(grant_period="monthly")
    grant = BenefitGrant.objects.get(member=member)
    url = reverse("admin:tiers_benefitgrant_changelist")
    assert admin_client.get(url + f"?q={member.member_no}", **EN).status_code == 200
    admin_client.post(url, {"action": "claim", "_selected_action": [grant.pk]})
    admin_client.post(url, {"action": "use_one", "_selected_action": [grant.pk]})
    response = admin_client.post(url, {"action": "use_one", "_selected_action": [grant.pk]},
                                 follow=True, **EN)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.USED and grant.used_quantity == 1
    assert any("left to use" in str(m) for m in get_messages(response.wsgi_request))


def test_an_operator_records_a_purchase(admin_client, now):
    plan()
    member = register(now)
    url = reverse("admin:tiers_paidpurchase_record")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"member_no": member.member_no, "plan": plan_pk(),
                                       "purchase_id": "POS-1", "amount": "199.00"})
    assert response.status_code == 302
    purchase = PaidPurchase.objects.get()
    assert (purchase.channel, purchase.operator.username) == ("admin", "admin")
    assert PaidMembership.objects.get(member=member).plan.code == "annual"
    bad = admin_client.post(url, {"member_no": "nobody", "plan": plan_pk(),
                                  "purchase_id": "POS-2", "amount": "-1"}, **EN)
    assert bad.status_code == 200 and PaidPurchase.objects.count() == 1
    assert admin_client.get(reverse("admin:tiers_paidpurchase_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:tiers_paidmembership_changelist")).status_code == 200


def plan_pk() -> int:
    from tiers.models.paid import PaidPlan

    return PaidPlan.objects.get(code="annual").pk


def test_cost_and_figures_pages(admin_client, store, now):
    annual = plan()
    attach(benefit("double", "points_multiplier"), plan=annual, multiplier=Decimal("2"))
    member = register(now)
    from tiers.services.paid import paid_purchase

    from ..services.test_ladder import sell

    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-1",
                  amount=Decimal("199"), channel="api", now=now - timedelta(days=1))
    sell(store, member, now, "S-1", "300.00")  # 600 points, 300 of them the plan's: ¥3
    cost = admin_client.get(reverse("admin:tiers_benefit_cost") + "?month=2026-03", **EN)
    assert cost.status_code == 200
    assert "300" in cost.content.decode() and "3.00" in cost.content.decode()
    assert admin_client.get(reverse("admin:tiers_benefit_cost") + "?month=bogus").status_code == 200
    figures = admin_client.get(reverse("admin:tiers_paid_figures") + "?month=2026-03", **EN)
    assert figures.status_code == 200 and "Penetration" in figures.content.decode()
    assert admin_client.get(reverse("admin:tiers_benefit_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:tiers_paidplan_change", args=[annual.pk])).status_code == 200


def _this_month() -> str:
    from django.utils import timezone

    return timezone.localdate().strftime("%Y-%m")


def test_rates_read_as_percentages(admin_client, now, make_member):
    from tiers.services.paid import paid_purchase

    plan()
    paid, _other = make_member(), make_member()
    paid_purchase(member_id=paid.pk, plan_code="annual", purchase_id="P-1",
                  amount=Decimal("199"), channel="api")
    page = admin_client.get(reverse("admin:tiers_paid_figures")).content.decode()
    assert "<td>50.0%</td>" in page  # 1 of 2 active members paid
    assert not re.search(r"\d\.\d{4}", page)  # no "0.5000"


def test_benefit_list_columns_have_distinct_titles(admin_client):
    benefit("gift", "birthday_gift", grant_period="birthday_month")
    from tests.loyalty.console_html import page_texts

    page = admin_client.get(reverse("admin:tiers_benefit_changelist")).content.decode()
    titles = [t.text for t in page_texts(page)
              if t.column_of is not None and not t.text.isdigit()]  # (sort priorities)
    assert "类型" in titles and len(titles) == len(set(titles)), titles


@pytest.mark.parametrize("url_name", ["admin:tiers_benefit_cost", "admin:tiers_paid_figures"])
def test_monthly_pages_stop_at_the_current_month(admin_client, url_name):
    from dateutil.relativedelta import relativedelta
    from django.utils import timezone

    url = reverse(url_name)
    this_month = timezone.localdate().replace(day=1)
    current = admin_client.get(url).content.decode()
    assert f"?month={(this_month - relativedelta(months=1)):%Y-%m}" in current  # back
    assert f"?month={(this_month + relativedelta(months=1)):%Y-%m}" not in current  # no ahead
    earlier = admin_client.get(url, {"month": f"{this_month - relativedelta(months=2):%Y-%m}"})
    assert f"?month={(this_month - relativedelta(months=1)):%Y-%m}" in earlier.content.decode()
    future = f"{this_month + relativedelta(months=1):%Y-%m}"
    refused = admin_client.get(url, {"month": future})
    assert refused.status_code == 200
    body = refused.content.decode()
    assert "errornote" in body and f"{future} 尚未开始" in body
    assert "<table" not in body.split('id="content"')[1]  # no page of zeros
    bogus = admin_client.get(url, {"month": "2026-13"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "is not a month" in bogus.content.decode()
