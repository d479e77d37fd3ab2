"""Malformed requests against every operation of the published OpenAPI schema.

For each operation, a valid baseline (hand-written, keyed by operationId) is broken one
thing at a time: the whole body, each required property, each property's type and range, the
path's ids and the query parameters. Every answer must be a 4xx in the one error shape, and
no business row may appear or disappear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from loyalty.services.intake import record_sale
from members.models import Segment, Tag
from members.services.orders import LineInput, SaleInput
from members.services.segments import segment_snapshot_take
from points.models import PartnerProgramme
from points.services.holds import points_hold
from points.services.ledger import points_adjust
from points.services.payments import points_pay

from .conftest import client_for, new_idem, row_counts

pytestmark = pytest.mark.django_db

LONG = "x" * 10_000
HUGE_ID = 99999999999999999999  # beyond bigint
UNKNOWN_ID = 999_999_999

_SCHEMA: dict = {}


def load_schema(client) -> dict:
    if not _SCHEMA:
        response = client.get("/api/schema/?format=json")
        assert response.status_code == 200
        _SCHEMA.update(response.json())
    return _SCHEMA


def operations(schema: dict) -> dict[str, tuple[str, str, dict]]:
    """operationId → (method, path, operation)."""
    return {op["operationId"]: (method, path, op)
            for path, ops in schema["paths"].items() for method, op in ops.items()}


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


# --- the valid baselines ---------------------------------------------------------------------

@dataclass
class Baseline:
    path: dict = field(default_factory=dict)
    body: dict | None = None
    query: dict | None = None


@pytest.fixture
def world(store, member, make_member, owner, now):
    """A store, a member with 100 points (20 of them held at checkout), another member, a
    sale to return, stored value, gift cards, a lottery, check-in settings and a task."""
    other = make_member()
    points_adjust(member_id=member.pk, points=100, operator_id=owner.pk, reason="credit")
    hold = points_hold(member_id=member.pk, points=20, owner_id=owner.pk, reference="B-BASE")
    spend = points_pay(member_id=member.pk, points=5, owner_id=owner.pk, reference="SP-BASE")
    PartnerProgramme.objects.create(code="air", name="航空", rate_in=Decimal("0.5"),
                                    rate_out=Decimal("2"), member_daily_limit_in=100)
    record_sale(sale=SaleInput(
        store_code=store.code, order_no="S-BASE", member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-1", quantity=3, gross_amount=Decimal("300.00")),)))
    Tag.objects.create(code="api-vip", name="VIP")
    Tag.objects.create(code="api-rule", name="rule", kind=Tag.Kind.RULE)
    segment = Segment.objects.create(code="api-seg", name="seg", expression="status:active")
    snapshot = segment_snapshot_take(segment_id=segment.pk, now=now)
    from campaigns.models import Campaign

    Campaign.objects.create(code="api-campaign", name="活动", created_at=now, updated_at=now)
    from loyalty.services.webhooks import webhook_subscription_create

    # port 9 (discard) on the loopback: the ping is refused at once, nothing leaves the machine
    subscription = webhook_subscription_create(name="CRM", url="http://127.0.0.1:9/hook",
                                               event_types=["points.earned"], owner_id=owner.pk)
    return SimpleNamespace(store=store, member=member, other=other, hold=hold.hold,
                           snapshot=snapshot, subscription=subscription,
                           spend=spend.movement.entry,
                           **catalog(member, other, now), **benefit_world(member, now),
                           **prepaid_world(member), **engagement_world(member, now))


def catalog(member, other, now) -> dict:
    """Rewards and coupons for the checkout operations: open and closed rewards, a coupon
    of the member, one of the other member, one expired and one used."""
    from django.utils import timezone

    from points.services.coupons import coupon_issue, coupon_redeem
    from points.services.rewards import redemption_advance, reward_redeem
    from tests.points.catalog_helpers import basket, make_reward, make_template

    today = timezone.now()
    template = make_template(now, valid_days=30)
    reward = make_reward(now, points_cost=10, stock=5, per_member_limit=2)
    ended = make_reward(now, name="已结束", ends_at=now)
    gold_only = make_reward(now, name="黄金专享")
    gold_only.eligible_tags.set([Tag.objects.get_or_create(code="tier-gold",
                                                           defaults={"name": "黄金"})[0]])
    expired = coupon_issue(template_id=template.pk, member_id=member.pk,
                           now=today - timedelta(days=31))
    used = coupon_issue(template_id=template.pk, member_id=member.pk, now=today)
    coupon_redeem(code=used.code, member_id=member.pk, basket=basket("300"), order_no="USED",
                  now=today)
    parcel = make_reward(now, name="包裹", points_cost=5)
    ordered = reward_redeem(member_id=member.pk, reward_id=parcel.pk, source_key="w-1", now=today)
    delivered = reward_redeem(member_id=member.pk, reward_id=parcel.pk, source_key="w-2",
                              now=today)
    redemption_advance(redemption_id=delivered.pk, state="shipped", now=today)
    redemption_advance(redemption_id=delivered.pk, state="delivered", now=today)
    return {"template": template, "closed_template": make_template(now, is_active=False),
            "reward": reward, "ended": ended, "gold_only": gold_only,
            "coupon": coupon_issue(template_id=template.pk, member_id=member.pk, now=today),
            "others_coupon": coupon_issue(template_id=template.pk, member_id=other.pk, now=today),
            "expired_coupon": expired, "used_coupon": used, "ordered": ordered,
            "delivered": delivered}


def benefit_world(member, now) -> dict:
    """A paid plan with two monthly benefits; the member bought it and was granted both:
    one to claim, one already claimed (to use)."""
    from tiers.models.benefits import Benefit, BenefitAttachment, BenefitGrant
    from tiers.models.paid import PaidPlan
    from tiers.services.benefits import benefit_grant_claim, benefit_grants_issue
    from tiers.services.paid import paid_purchase

    plan = PaidPlan.objects.create(code="annual", name="年卡", duration_months=12,
                                   price=Decimal("199.00"))
    for code in ("gift", "ship"):
        item = Benefit.objects.create(code=code, name=code, kind="free_shipping",
                                      grant_period="monthly")
        BenefitAttachment.objects.create(benefit=item, plan=plan, quantity=5)
    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-BASE",
                  amount=Decimal("199.00"), channel="api", now=now)
    benefit_grants_issue(grant_period="monthly")
    to_claim = BenefitGrant.objects.get(member=member, benefit__code="gift")
    to_use = BenefitGrant.objects.get(member=member, benefit__code="ship")
    benefit_grant_claim(member_id=member.pk, grant_id=to_use.pk)
    return {"to_claim": to_claim, "to_use": to_use}


def prepaid_world(member) -> dict:
    """¥500 of stored value (and its ¥50 bonus) for the member; two gift cards of ¥500, the
    first activated (its code and PIN known), the second still to activate."""
    from points.models import TopUpBonusRule
    from points.services.gift_cards import gift_card_activate, gift_card_batch_issue
    from points.services.stored_value import stored_value_top_up

    TopUpBonusRule.objects.create(name="充500送50", min_amount=Decimal("500"),
                                  bonus=Decimal("50"))
    stored_value_top_up(member_id=member.pk, amount="500.00", key="sv-base")
    active, inactive = gift_card_batch_issue(name="礼品卡", face_value="500", quantity=2).cards
    gift_card_activate(code=active.code, key="gc-base")
    return {"card": active, "new_card": inactive}


def engagement_world(member, now) -> dict:
    """An open lottery (10 points a draw, a points prize in stock and a nothing prize) with
    one draw of the member; the check-in settings; a monthly purchases task. `makeup_day` is
    the first of the current Beijing month (None on the first itself: nothing earlier)."""
    from django.utils import timezone

    from campaigns.models import CheckinSettings, Task
    from campaigns.services.lottery import lottery_draw
    from core.clock import local_date
    from tests.campaigns.lottery_helpers import lottery

    lot = lottery(now, [{"name": "谢谢", "kind": "nothing", "weight": 3},
                        {"name": "20分", "kind": "points", "weight": 1, "points": 20,
                         "stock": 100, "fallback": "谢谢"}],
                  code="api-lottery", cost_kind="points", cost_points=10)
    lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="draw-base")
    settings = CheckinSettings.load()
    settings.makeup_cost_points, settings.makeup_per_month = 20, 2
    settings.save()
    Task.objects.create(code="api-buy-3", name="本月购买3次", goal="purchases", target_count=3,
                        created_at=now)
    today = local_date(timezone.now())
    return {"lottery": lot, "makeup_day": today.replace(day=1) if today.day > 1 else None,
            "today": today}


def baselines(w) -> dict[str, Baseline]:
    m = {"member_id": w.member.pk}
    return {
        "memberRegister": Baseline(body={
            "mobile": "13900139000", "name": "张三", "gender": "female", "birthday": "1990-05-01",
            "region": "上海", "home_store": w.store.code, "source_channel": "app",
            "referrer": w.member.pk, "external_id": "shop-1", "marketing_consent": True,
            "consent_source": "app"}),
        "memberGet": Baseline(path=m),
        "memberUpdate": Baseline(path=m, body={
            "mobile": "13900139001", "name": "李四", "gender": "male", "birthday": "1991-02-03",
            "region": "北京", "home_store": w.store.code, "source_channel": "web",
            "referrer": w.other.pk, "external_id": "shop-2", "marketing_consent": True,
            "consent_source": "web"}),
        "memberLookup": Baseline(query={"member_no": w.member.member_no}),
        "pointsBalance": Baseline(path=m),
        "pointsEntries": Baseline(path=m, query={"kind": "adjust"}),
        "pointsSpend": Baseline(path=m, body={"points": 10, "reason": "兑换"}),
        "pointsAdjust": Baseline(path=m, body={"points": 10, "reason": "补偿"}),
        "pointsTransfer": Baseline(path=m, body={"to_member": w.other.pk, "points": 10,
                                                 "reason": "给家人"}),
        "pointsSpendCancel": Baseline(path={**m, "entry_id": w.spend.pk},
                                      body={"reason": "撤单"}),
        "tierProgress": Baseline(path=m),
        "memberAsOf": Baseline(path=m, query={"date": "2026-03-01"}),
        "webhookSubscriptions": Baseline(query={"page_size": 10}),
        "webhookSubscriptionCreate": Baseline(body={
            "name": "ERP", "url": "https://erp.example.com/hooks",
            "event_types": ["points.earned", "tier.changed"], "is_active": True}),
        "webhookSubscription": Baseline(path={"subscription_id": w.subscription.pk}),
        "webhookSubscriptionChange": Baseline(path={"subscription_id": w.subscription.pk}, body={
            "name": "CRM 2", "url": "https://crm.example.com/hooks",
            "event_types": ["tier.changed"], "is_active": False}),
        "webhookPing": Baseline(path={"subscription_id": w.subscription.pk}),
        "webhookSecretRotate": Baseline(path={"subscription_id": w.subscription.pk}),
        "webhookDeliveries": Baseline(path={"subscription_id": w.subscription.pk},
                                      query={"state": "pending", "page_size": 10}),
        "saleRecord": Baseline(body={
            "store": w.store.code, "order_no": "S-NEW", "member": w.member.pk,
            "ordered_at": "2026-03-14T10:30:00+08:00",
            "lines": [{"line_no": 1, "sku": "SKU-2", "category": "tops", "quantity": 2,
                       "gross_amount": "200.00", "coupon_discount": "10.00",
                       "tier_discount": "5.00", "other_discount": "0.00",
                       "points_cash": "1.00", "net_amount": "184.00"}],
            "tenders": [{"type": "gift_card", "amount": "184.00", "code": w.card.code,
                         "pin": w.card.pin}]}),
        "returnRecord": Baseline(body={
            "store": w.store.code, "order_no": "R-NEW", "sale_order_no": "S-BASE",
            "sale_store": w.store.code, "ordered_at": "2026-03-15T10:30:00+08:00",
            "lines": [{"line_no": 1, "quantity": 1}]}),
        "memberBenefits": Baseline(path=m),
        "memberOffers": Baseline(path=m, query={"page_size": 10}),
        "campaignResults": Baseline(path={"campaign_code": "api-campaign"}),
        "memberCodeIssue": Baseline(path=m),
        "benefitGrantsList": Baseline(path=m),
        "benefitGrantClaim": Baseline(
            path={**m, "grant_id": w.to_claim.pk}),
        "benefitGrantUse": Baseline(
            path={**m, "grant_id": w.to_use.pk}, body={"units": 1}),
        "paidMembershipPurchase": Baseline(path=m, body={
            "plan": "annual", "purchase_id": "P-NEW", "amount": "199.00"}),
        "eventRecord": Baseline(body={
            "event_id": "evt-new", "member": w.member.pk, "type": "referral_converted",
            "name": "", "occurred_at": "2026-03-14T10:30:00+08:00", "referrer": w.other.pk,
            "store": w.store.code, "payload": {"channel": "wechat"}}),
        "rewardsList": Baseline(path=m),
        "rewardRedeem": Baseline(path=m, body={
            "reward": w.reward.pk, "quantity": 1, "fulfilment": "pickup", "store": w.store.code}),
        "redemptionsList": Baseline(path=m, query={"page_size": 10}),
        "redemptionCancel": Baseline(
            path={**m, "redemption_id": w.ordered.pk}, body={"reason": "不要了"}),
        "couponsList": Baseline(path=m, query={"page_size": 10}),
        "couponHistory": Baseline(path=m, query={"page_size": 10}),
        "couponIssue": Baseline(path=m, body={"template": w.template.pk}),
        "couponRedeem": Baseline(body={
            "member": w.member.pk, "code": w.coupon.code, "order_no": "S-COUPON",
            "lines": [{"sku": "SKU-1", "category": "tops", "quantity": 1, "amount": "250.00"}],
            "shipping_fee": "10.00"}),
        "couponVoid": Baseline(body={"code": w.coupon.code, "reason": "发错了"}),
        "checkoutPreview": Baseline(body={
            "member": w.member.pk, "coupon": w.coupon.code, "shipping_fee": "10.00",
            "lines": [{"sku": "SKU-1", "category": "tops", "quantity": 2, "amount": "250.00"}]}),
        "checkoutCommit": Baseline(body={
            "member": w.member.pk, "store": w.store.code, "order_no": "C-NEW",
            "ordered_at": "2026-03-14T10:30:00+08:00", "coupon": w.coupon.code, "points": 10,
            "lines": [{"sku": "SKU-1", "category": "tops", "quantity": 2, "amount": "250.00"}],
            "gifts": [{"reward": w.reward.pk, "quantity": 1}],
            "tenders": [{"type": "stored_value", "amount": "219.90"}]}),
        "holdCreate": Baseline(body={
            "member": w.member.pk, "points": 10, "ttl_minutes": 30, "reference": "B-NEW"}),
        "holdGet": Baseline(path={"hold_id": w.hold.pk}),
        "holdCapture": Baseline(path={"hold_id": w.hold.pk},
                                                     body={"points": 10}),
        "holdRelease": Baseline(path={"hold_id": w.hold.pk}, body={}),
        "partnerExchangeIn": Baseline(path={"partner_code": "air"}, body={
            "member": w.member.pk, "partner_points": 20, "external_id": "P-NEW"}),
        "partnerExchangeOut": Baseline(path={"partner_code": "air"}, body={
            "member": w.member.pk, "points": 10, "external_id": "P-OUT"}),
        "pointsLiability": Baseline(),
        "memberTagAdd": Baseline(path=m, body={"tag": "api-vip"}),
        "memberTagRemove": Baseline(path={**m, "tag": "api-vip"}),
        "segmentMembership": Baseline(path={**m, "segment": "api-seg"}),
        "snapshotMembership": Baseline(
            path={**m, "segment": "api-seg", "snapshot_id": w.snapshot.pk}),
        "storedValueBalance": Baseline(path=m),
        "storedValueTopUp": Baseline(path=m, body={"amount": "500.00", "with_bonus": True}),
        "storedValueSpend": Baseline(path=m, body={"amount": "80.00"}),
        "storedValueRefund": Baseline(path=m, body={"amount": "100.00"}),
        "giftCardEnquiry": Baseline(body={"code": w.card.code, "pin": w.card.pin}),
        "giftCardActivate": Baseline(body={"code": w.new_card.code}),
        "giftCardSpend": Baseline(body={"code": w.card.code, "pin": w.card.pin,
                                        "amount": "30.00"}),
        "prepaidLiability": Baseline(query={"months": 12}),
        "checkinRecord": Baseline(path=m),
        "checkinMakeup": Baseline(path=m, body={
            "day": (w.makeup_day or w.today).isoformat()}),
        "checkinCalendar": Baseline(path=m, query={"month": w.today.strftime("%Y-%m")}),
        "tasksProgress": Baseline(path=m),
        "lotteryGet": Baseline(path={"lottery_id": w.lottery.pk}),
        "lotteryDraw": Baseline(path={**m, "lottery_id": w.lottery.pk},
                                body={"draw_id": "draw-new"}),
        "lotteryDrawsOfMember": Baseline(path=m, query={"page_size": 10}),
        "lotteryDrawsList": Baseline(path={"lottery_id": w.lottery.pk},
                                     query={"page_size": 10}),
        "lotteryVerify": Baseline(path={"lottery_id": w.lottery.pk}),
    }


def business_cases(w, base: dict[str, Baseline]) -> dict[str, list[tuple[str, dict]]]:
    """Well-typed bodies that the business rules refuse (still 4xx, still nothing written)."""
    sale, ret = base["saleRecord"].body, base["returnRecord"].body
    line = sale["lines"][0]
    gross_only = {k: v for k, v in line.items() if k != "net_amount"}
    max_line = {"line_no": 1, "sku": "SKU-1", "quantity": 1, "gross_amount": "9999999999.99"}
    max_basket_line = {"sku": "SKU-1", "quantity": 1, "amount": "9999999999.99"}
    card = {"code": w.card.code, "pin": w.card.pin}
    wrong_pin = "000000" if w.card.pin != "000000" else "111111"
    return {
        "memberRegister": [
            ("mobile taken", {**base["memberRegister"].body, "mobile": w.member.mobile}),
        ],
        "memberUpdate": [
            ("own referrer", {"referrer": w.member.pk}),
            ("mobile of another member", {"mobile": w.other.mobile}),
        ],
        "pointsSpend": [("more than available", {"points": 101})],
        "pointsTransfer": [
            ("to the sender", {"to_member": w.member.pk, "points": 1}),
            ("more than available", {"to_member": w.other.pk, "points": 101}),
        ],
        "pointsAdjust": [
            ("zero", {"points": 0, "reason": "x"}),
            ("remove more than available", {"points": -101, "reason": "x"}),
        ],
        "saleRecord": [
            ("net does not add up", {**sale, "lines": [{**line, "net_amount": "183.99"}]}),
            ("discounts beyond gross",
             {**sale, "lines": [{**gross_only, "coupon_discount": "300.00"}]}),
            ("order total beyond NUMERIC(12,2)", {**sale, "lines": [
                {**max_line, "line_no": n} for n in range(1, 3)]}),
            ("number used by another sale", {**sale, "order_no": "S-BASE"}),
            ("tenders short of the net", {**sale, "tenders": [
                {**sale["tenders"][0], "amount": "183.99"}]}),
            ("gift card with a wrong PIN", {**sale, "tenders": [
                {**sale["tenders"][0], "pin": wrong_pin}]}),
            ("points tender without a points payment", {**sale, "tenders": [
                {"type": "cash", "amount": "184.00"}, {"type": "points", "amount": "1.00"}]}),
            ("stored value beyond the balance", {**sale, "lines": [
                {**line, "gross_amount": "1000.00", "net_amount": "984.00"}],
                "tenders": [{"type": "stored_value", "amount": "984.00"}]}),
        ],
        "returnRecord": [
            ("more than sold", {**ret, "lines": [{"line_no": 1, "quantity": 4}]}),
            ("line not in the sale", {**ret, "lines": [{"line_no": 2, "quantity": 1}]}),
            ("sale at another store", {**ret, "sale_store": "NO-SUCH-STORE"}),
            ("return number used by the sale", {**ret, "order_no": "S-BASE"}),
        ],
        "rewardRedeem": [
            ("reward out of its window", {"reward": w.ended.pk}),
            ("reward for another tier", {"reward": w.gold_only.pk}),
            ("more than the stock", {"reward": w.reward.pk, "quantity": 6}),
            ("over the per-member limit", {"reward": w.reward.pk, "quantity": 3}),
            ("unknown reward", {"reward": UNKNOWN_ID}),
            ("pickup at an unknown store", {"reward": w.reward.pk, "fulfilment": "pickup",
                                            "store": "NO-SUCH-STORE"}),
        ],
        "couponIssue": [
            ("inactive template", {"template": w.closed_template.pk}),
            ("unknown template", {"template": UNKNOWN_ID}),
        ],
        "couponRedeem": [
            ("another member's coupon",
             {**base["couponRedeem"].body, "code": w.others_coupon.code}),
            ("expired coupon",
             {**base["couponRedeem"].body, "code": w.expired_coupon.code}),
            ("used coupon", {**base["couponRedeem"].body, "code": w.used_coupon.code}),
            ("unknown code", {**base["couponRedeem"].body, "code": "NO-SUCH-CODE"}),
            ("basket below the threshold", {**base["couponRedeem"].body, "lines": [
                {"sku": "SKU-1", "quantity": 1, "amount": "199.99"}]}),
            ("basket total beyond NUMERIC(12,2)", {**base["couponRedeem"].body,
                                                   "lines": [{**max_basket_line, "sku": s}
                                                             for s in ("A", "B")]}),
        ],
        "couponVoid": [
            ("used coupon", {"code": w.used_coupon.code, "reason": "x"}),
            ("unknown code", {"code": "NO-SUCH-CODE", "reason": "x"}),
        ],
        "checkoutPreview": [
            ("another member's coupon",
             {**base["checkoutPreview"].body, "coupon": w.others_coupon.code}),
            ("expired coupon",
             {**base["checkoutPreview"].body, "coupon": w.expired_coupon.code}),
        ],
        "benefitGrantUse": [("more than granted", {"units": 6})],
        "paidMembershipPurchase": [
            ("unknown plan", {**base["paidMembershipPurchase"].body,
                              "plan": "lifetime"}),
            ("purchase id of another purchase",
             {**base["paidMembershipPurchase"].body, "purchase_id": "P-BASE",
              "amount": "1.00"}),
        ],
        "checkoutCommit": [
            ("another member's coupon",
             {**base["checkoutCommit"].body, "coupon": w.others_coupon.code}),
            ("a used coupon", {**base["checkoutCommit"].body, "coupon": w.used_coupon.code}),
            ("more points than available", {**base["checkoutCommit"].body, "points": 71}),
            ("a reward no longer offered", {**base["checkoutCommit"].body,
                                            "gifts": [{"reward": w.ended.pk}]}),
            ("the number of a recorded sale", {**base["checkoutCommit"].body,
                                               "order_no": "S-BASE"}),
            ("an unknown store", {**base["checkoutCommit"].body, "store": "NOWHERE"}),
            ("tenders over the rest", {**base["checkoutCommit"].body, "tenders": [
                {"type": "stored_value", "amount": "219.91"}]}),
            ("a points tender", {**base["checkoutCommit"].body, "tenders": [
                {"type": "stored_value", "amount": "218.90"},
                {"type": "points", "amount": "1.00"}]}),
            ("a gift card tender with a wrong PIN", {**base["checkoutCommit"].body, "tenders": [
                {"type": "gift_card", "amount": "219.90", "code": w.card.code,
                 "pin": wrong_pin}]}),
        ],
        "holdCreate": [
            ("more than available", {"member": w.member.pk, "points": 81}),
        ],
        "holdCapture": [("above the hold", {"points": 21})],
        "partnerExchangeIn": [
            ("over the member's daily limit",
             {"member": w.member.pk, "partner_points": 202, "external_id": "P-BIG"}),
            ("worth less than a point",
             {"member": w.member.pk, "partner_points": 1, "external_id": "P-SMALL"}),
        ],
        "partnerExchangeOut": [
            ("more than available", {"member": w.member.pk, "points": 81, "external_id": "P-X"}),
        ],
        "memberTagAdd": [("a rule tag", {"tag": "api-rule"}),
                                   ("an unknown tag", {"tag": "no-such-tag"})],
        "eventRecord": [
            ("custom without a name", {**base["eventRecord"].body, "type": "custom"}),
            ("own referrer", {**base["eventRecord"].body, "referrer": w.member.pk}),
        ],
        "storedValueTopUp": [("zero", {"amount": "0.00"}),
                             ("above the top-up maximum", {"amount": "1000000.01"})],
        "storedValueSpend": [("more than the balance", {"amount": "550.01"}),
                             ("zero", {"amount": "0"})],
        "storedValueRefund": [("more than the principal", {"amount": "500.01"}),
                              ("zero", {"amount": "0.00"})],
        "giftCardEnquiry": [("wrong PIN", {**card, "pin": wrong_pin}),
                            ("unknown card", {**card, "code": "0" * 16})],
        "giftCardActivate": [("already active", {"code": w.card.code}),
                             ("unknown card", {"code": "0" * 16})],
        "giftCardSpend": [("more than the balance", {**card, "amount": "500.01"}),
                          ("wrong PIN", {**card, "pin": wrong_pin, "amount": "1.00"}),
                          ("card not activated", {"code": w.new_card.code, "pin": w.new_card.pin,
                                                  "amount": "1.00"}),
                          ("zero", {**card, "amount": "0.00"})],
        "checkinMakeup": [("today", {"day": w.today.isoformat()}),
                          ("tomorrow", {"day": (w.today + timedelta(days=1)).isoformat()}),
                          ("last month", {"day": (w.today.replace(day=1)
                                                  - timedelta(days=1)).isoformat()})],
    }


OPERATION_IDS = [
    "memberRegister", "memberGet", "memberUpdate",
    "memberLookup", "pointsBalance",
    "pointsEntries", "pointsSpend",
    "pointsAdjust", "tierProgress", "memberAsOf", "saleRecord",
    "pointsAdjust", "pointsTransfer", "pointsSpendCancel", "tierProgress", "saleRecord",
    "returnRecord", "eventRecord",
    "rewardsList", "rewardRedeem", "couponsList",
    "couponIssue", "couponRedeem", "couponVoid",
    "checkoutPreview", "checkoutCommit", "redemptionsList",
    "redemptionCancel", "couponHistory",
    "memberBenefits",
    "benefitGrantsList", "benefitGrantClaim",
    "benefitGrantUse", "paidMembershipPurchase",
    "holdCreate", "holdGet", "holdCapture",
    "holdRelease", "partnerExchangeIn",
    "partnerExchangeOut", "pointsLiability",
    "memberTagAdd", "memberTagRemove", "segmentMembership",
    "snapshotMembership", "memberOffers", "memberCodeIssue",
    "campaignResults", "webhookSubscriptions", "webhookSubscriptionCreate",
    "webhookSubscription", "webhookSubscriptionChange", "webhookPing", "webhookSecretRotate",
    "webhookDeliveries",
    "storedValueBalance", "storedValueTopUp", "storedValueSpend", "storedValueRefund",
    "giftCardEnquiry", "giftCardActivate", "giftCardSpend", "prepaidLiability",
    "checkinRecord", "checkinMakeup", "checkinCalendar", "tasksProgress",
    "lotteryGet", "lotteryDraw", "lotteryDrawsOfMember", "lotteryDrawsList", "lotteryVerify",
]

# Bad values per query parameter.
BAD_QUERY = {
    "mobile": ["abc", "123", "+1 650 253 0000", "1380013800\x00", LONG],
    "external_id": ["\x00", "nul\x00inside", LONG, "no-such-id"],
    "member_no": ["\x00", LONG, "0000000000"],
    "kind": ["bogus", "\x00", "EARN"],
    "created_after": ["2026-13-45", "yesterday", "\x00", "2026-03-14T25:00:00"],
    "created_before": ["2026-13-45", "yesterday", "\x00"],
    "cursor": ["garbage!", LONG],
    "page_size": ["0", "-1", "201", "abc", "1.5", " 5", "\x00", LONG],
    "months": ["abc", "0", "-1", "1.5", "\x00", "241", LONG],
    "date": ["2026-02-30", "yesterday", "\x00", "0001-01-01", "9999-12-31", "2026-3-1", LONG],
    "state": ["bogus", "\x00", "PENDING", LONG],
    "month": ["2026-13", "2026-00", "2026-3", "26-03", "2026-03-01", "march", "\x00",
              "1999-12", LONG],
}


# --- mutations ---------------------------------------------------------------------------------

def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


WHOLE_BODIES = [
    ("{}", dumps({})),
    ("empty body", b""),
    ("[]", dumps([])),
    ('"text"', dumps("text")),
    ("null", b"null"),
    ("42", b"42"),
    ("true", b"true"),
    ("invalid JSON", b"{bad"),
    ("truncated JSON", b'{"points": 1'),
    ("not UTF-8", b"\xff\xfe{}"),
    ("NaN", b'{"points": NaN, "member": NaN}'),
    ("Infinity", b'{"points": Infinity, "member": -Infinity}'),
    ("integer of 5000 digits", b'{"points": 1' + b"0" * 5000 + b"}"),
    ("deeply nested array", b"[" * 100_000),
    ("deeply nested object", b'{"a":' * 100_000),
]


def bad_values(name: str, prop: dict, schema: dict) -> list[tuple[str, object]]:
    """Values that must be refused for one property, by its documented type and name."""
    prop = resolve(schema, prop)
    kind, fmt = prop.get("type"), prop.get("format")
    values: list[tuple[str, object]] = [("null", None), ("list", [1, 2]), ("long string", LONG)]
    if kind == "object":
        values += [("NUL in a value", {"a": "x\x00y"}), ("NUL in a key", {"a\x00": 1}),
                   ("100 KB", {"a": "x" * 100_000})]
    else:
        values.append(("object", {"a": 1}))
    if kind != "boolean":
        values.append(("boolean", True))
    if "enum" in prop:
        values += [("unknown choice", "bogus"), ("blank", ""), ("number", 7)]
    elif kind == "integer":
        values += [("string", "abc"), ("blank", ""), ("float", 1.5), ("10**30", 10**30),
                   ("-10**30", -(10**30)), ("1e309", "1e309"), ("NaN", "NaN"),
                   ("Infinity", "Infinity"), ("2**70", 2**70),
                   ("below minimum", prop.get("minimum", 0) - 1),
                   ("above maximum", prop.get("maximum", 2**63 - 1) + 1)]
        if prop.get("minimum", -1) > -1:
            values.append(("-1", -1))
        if prop.get("minimum", 0) > 0:
            values.append(("0", 0))
    elif kind == "string" and fmt == "decimal":
        values += [("-1", "-1"), ("-1 number", -1), ("10**30", 10**30), ("10**30 string",
                   str(10**30)), ("1e309", "1e309"), ("NaN", "NaN"), ("Infinity", "Infinity"),
                   ("-Infinity", "-Infinity"), ("string", "abc"), ("blank", ""),
                   ("three decimals", "1.005"), ("comma", "1,00")]
    elif kind == "string" and fmt in ("date", "date-time"):
        values += [("month 13", "2026-13-45"), ("yesterday", "yesterday"), ("blank", ""),
                   ("number", 20260314), ("far future", "99999-01-01")]
        if fmt == "date":
            values += [("future birthday", "2999-01-01"), ("date-time", "2026-03-14T10:00:00")]
        else:
            values += [("hour 25", "2026-03-14T25:00:00+08:00"),
                       ("year 1 east of UTC", "0001-01-01T00:10:00+08:00"),
                       ("year 9999 west of UTC", "9999-12-31T23:59:59-12:00")]
    elif kind == "string":
        values += [("NUL", "a\x00b"), ("lone surrogate", "a\ud800b")]
        if prop.get("minLength", 0) >= 1:
            values += [("blank", ""), ("spaces", "   ")]
    elif kind == "boolean":
        values += [("string", "maybe"), ("number 2", 2), ("blank", "")]
    elif kind == "array":
        values += [("empty list", []), ("list of strings", ["x"]), ("list of null", [None]),
                   ("string", "text"), ("501 items", [{}] * 501)]
    if name in ("member", "referrer"):
        values += [("unknown id", UNKNOWN_ID), ("id beyond bigint", 2**70), ("id 0", 0)]
    if name == "mobile":
        values += [("short phone", "123"), ("letters", "abc"), ("US phone", "+1 650 253 0000"),
                   ("landline", "021 6234 5678")]
    if name in ("store", "home_store", "sale_store"):
        values.append(("unknown store", "NO-SUCH-STORE"))
    if name == "sale_order_no":
        values.append(("unknown sale", "NO-SUCH-SALE"))
    return values


def body_cases(schema: dict, op: dict, base: dict) -> list[tuple[str, bytes]]:
    body_schema = resolve(schema, op["requestBody"]["content"]["application/json"]["schema"])
    partial = not body_schema.get("required")
    cases = [(label, raw) for label, raw in WHOLE_BODIES
             # an empty partial update is a valid no-op
             if not (partial and label in ("{}", "empty body"))]

    for name in body_schema.get("required", []):
        body = {k: v for k, v in base.items() if k != name}
        cases.append((f"missing {name}", dumps(body)))
    for name, prop in body_schema.get("properties", {}).items():
        for label, value in bad_values(name, prop, schema):
            cases.append((f"{name}: {label}", dumps({**base, name: value})))
        items = resolve(schema, prop).get("items")
        if items is None:
            continue
        item_schema = resolve(schema, items)
        first = base[name][0]
        if "properties" not in item_schema:  # a list of plain values (event types, say)
            for label, value in bad_values(name, item_schema, schema):
                cases.append((f"{name}[0]: {label}", dumps({**base, name: [value]})))
            continue
        for required in item_schema.get("required", []):
            line = {k: v for k, v in first.items() if k != required}
            cases.append((f"{name}[0] missing {required}", dumps({**base, name: [line]})))
        for item_name, item_prop in item_schema["properties"].items():
            for label, value in bad_values(item_name, item_prop, schema):
                line = {**first, item_name: value}
                cases.append((f"{name}[0].{item_name}: {label}", dumps({**base, name: [line]})))
        cases.append((f"{name}: duplicate line", dumps({**base, name: [first, first]})))
    return cases


# --- the checks ----------------------------------------------------------------------------------

def check(response, label: str, failures: list[str], before: dict[str, int]) -> None:
    status = response.status_code
    problem = None
    if not 400 <= status < 500:
        problem = f"status {status}"
    else:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]
                and isinstance(error.get("message"), str)):
            problem = f"status {status} without the error shape: {response.content[:200]!r}"
    after = row_counts()
    if after != before:
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        problem = (problem + "; " if problem else "") + f"rows changed {changed}"
    if problem:
        failures.append(f"{label}: {problem}")


def url_of(path: str, values: dict) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def send(client, method: str, url: str, body: bytes | None = None, query: dict | None = None):
    extra = {"HTTP_IDEMPOTENCY_KEY": new_idem()}
    if method == "get":
        return client.get(url, query or {}, **extra)
    return getattr(client, method)(url, data=body if body is not None else b"{}",
                                   content_type="application/json", **extra)


@pytest.fixture
def full_client(api_key):
    client = client_for(api_key[1])
    client.raise_request_exception = False  # a crash must show as a 500, not stop the test
    return client


def test_every_operation_has_a_baseline(anon, world):
    schema = load_schema(anon)
    assert set(operations(schema)) == set(OPERATION_IDS) == set(baselines(world))
    documented = {p["name"] for _m, _p, op in operations(schema).values()
                  for p in op.get("parameters", []) if p["in"] == "query"}
    assert documented == set(BAD_QUERY)


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_baseline_is_valid(anon, full_client, world, operation_id):
    """The mutations start from a request that succeeds, so each refusal is the mutation's."""
    method, path, _op = operations(load_schema(anon))[operation_id]
    base = baselines(world)[operation_id]
    if operation_id == "checkinMakeup" and world.makeup_day is None:
        pytest.skip("the first of the month: no earlier day this month to make up")
    body = dumps(base.body) if base.body is not None else None
    response = send(full_client, method, url_of(path, base.path), body, base.query)
    assert 200 <= response.status_code < 300, response.content


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_malformed_requests_are_refused_cleanly(anon, full_client, world, operation_id):
    schema = load_schema(anon)
    method, path, op = operations(schema)[operation_id]
    base = baselines(world)[operation_id]
    url = url_of(path, base.path)
    body = dumps(base.body) if base.body is not None else None
    failures: list[str] = []
    sent = 0

    if "requestBody" in op:
        for label, raw in body_cases(schema, op, base.body):
            before = row_counts()
            check(send(full_client, method, url, raw), label, failures, before)
            sent += 1

    for param in op.get("parameters", []):
        if param["in"] == "path":
            for value in (UNKNOWN_ID, HUGE_ID, 0, -1, "abc", "1.5", "%00"):
                before = row_counts()
                other = url_of(path, {**base.path, param["name"]: value})
                check(send(full_client, method, other, body, base.query),
                      f"path {param['name']}={value}", failures, before)
                sent += 1
        elif param["in"] == "query":
            for value in BAD_QUERY[param["name"]]:
                before = row_counts()
                check(send(full_client, method, url, body, {param["name"]: value}),
                      f"query {param['name']}={value[:20]!r}", failures, before)
                sent += 1

    for label, case in business_cases(world, baselines(world)).get(operation_id, []):
        before = row_counts()
        check(send(full_client, method, url, dumps(case)), label, failures, before)
        sent += 1

    if operation_id == "memberLookup":
        before = row_counts()
        check(send(full_client, method, url, None, {}), "no query at all", failures, before)
        sent += 1

    assert sent > 5
    assert not failures, f"{len(failures)} of {sent} requests misbehaved:\n" + "\n".join(failures)


@pytest.mark.parametrize("method", ["put", "delete"])
def test_undocumented_methods_are_405_in_the_error_shape(full_client, world, method):
    response = getattr(full_client, method)(f"/api/v1/members/{world.member.pk}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_wrong_content_type_is_415(full_client, world):
    before = row_counts()
    response = full_client.post(f"/api/v1/members/{world.member.pk}/points/spend",
                                data="points=10", content_type="application/x-www-form-urlencoded",
                                HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert row_counts() == before


# --- the schema documents the error shape ------------------------------------------------------

def test_every_operation_documents_400_and_401_with_the_error_component(anon):
    schema = load_schema(anon)
    error = resolve(schema, {"$ref": "#/components/schemas/Error"})
    detail = resolve(schema, error["properties"]["error"])
    assert set(detail["required"]) >= {"code", "message"}
    for operation_id, (_method, _path, op) in operations(schema).items():
        for status in ("400", "401", "403", "405", "406", "429", "503"):
            content = op["responses"][status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/Error"}, (operation_id, status)
        assert op["security"] == [{"ApiKey": []}], operation_id
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_points_writes_declare_a_required_idempotency_header(anon):
    schema = load_schema(anon)
    ops = operations(schema)
    for operation_id in ("pointsSpend", "pointsAdjust", "checkoutCommit"):
        headers = [p for p in ops[operation_id][2]["parameters"]
                   if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert len(headers) == 1 and headers[0]["required"] is True, operation_id
    for operation_id in ("memberRegister", "saleRecord",
                         "returnRecord"):
        headers = [p for p in ops[operation_id][2]["parameters"]
                   if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert len(headers) == 1 and not headers[0].get("required"), operation_id
