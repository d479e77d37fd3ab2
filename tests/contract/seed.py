"""Seed a throwaway database for the contract run and write what the hooks need to JSON.

Run inside Django (`python -m tests.contract.seed OUT.json`): members with points, holds,
benefit grants to claim and to use, redemptions to cancel, coupons to redeem and void, a
sale to return, a manual tag, a segment with a snapshot, a partner programme, a paid plan,
and an API key with every scope. Each resource an operation consumes (a hold captured, a
grant claimed, a coupon redeemed) comes in dozens, so the fuzzer keeps finding live ones.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from loyalty.models import Scope  # noqa: E402
from loyalty.services.api_keys import api_key_create  # noqa: E402
from loyalty.services.intake import record_sale  # noqa: E402
from members.models import Segment, Store, Tag  # noqa: E402
from members.services.members import MemberInput, member_register  # noqa: E402
from members.services.orders import LineInput, SaleInput  # noqa: E402
from members.services.segments import segment_snapshot_take  # noqa: E402
from points.models import CouponTemplate, PartnerProgramme, Reward  # noqa: E402
from points.services.coupons import coupon_issue  # noqa: E402
from points.services.holds import points_hold  # noqa: E402
from points.services.ledger import points_adjust  # noqa: E402
from points.services.rewards import reward_redeem  # noqa: E402
from tiers.models.benefits import Benefit, BenefitAttachment, BenefitGrant  # noqa: E402
from tiers.models.paid import PaidPlan  # noqa: E402
from tiers.services.benefits import benefit_grant_claim, benefit_grants_issue  # noqa: E402
from tiers.services.paid import paid_purchase  # noqa: E402

MEMBERS = 8
HOLDS_PER_MEMBER = 25
HOLD_POINTS = 100
REDEMPTIONS_PER_MEMBER = 15
COUPONS_PER_MEMBER = 30
CLAIMABLE_BENEFITS = 12
SALE_QUANTITY = 100_000


def seed() -> dict:
    now = timezone.now()
    owner = get_user_model().objects.create_user(username="contract", password="unused-x-1")
    _key, raw = api_key_create(name="contract", scopes=[s.value for s in Scope],
                               owner_id=owner.pk, rate_per_minute=1_000_000)
    store = Store.objects.create(code="SH001", name="上海南京西路店", region="上海")
    tag = Tag.objects.create(code="vip", name="VIP")
    template = CouponTemplate.objects.create(
        name="无门槛减1", kind="no_threshold", threshold=Decimal("0"), amount=Decimal("1.00"),
        valid_days=30, created_at=now)
    goods = Reward.objects.create(name="帆布袋", kind="goods", points_cost=1, created_at=now)
    coupon_reward = Reward.objects.create(name="券", kind="coupon", points_cost=1,
                                          coupon_template=template, created_at=now)
    plan = PaidPlan.objects.create(code="annual", name="年卡", duration_months=12,
                                   price=Decimal("199.00"))
    for n in range(CLAIMABLE_BENEFITS):
        benefit = Benefit.objects.create(code=f"gift-{n}", name=f"礼 {n}", kind="free_shipping",
                                         grant_period="monthly")
        BenefitAttachment.objects.create(benefit=benefit, plan=plan, quantity=1)
    usable = Benefit.objects.create(code="ship", name="包邮", kind="free_shipping",
                                    grant_period="monthly")
    BenefitAttachment.objects.create(benefit=usable, plan=plan, quantity=10_000)
    PartnerProgramme.objects.create(code="air", name="航空", rate_in=Decimal("0.5"),
                                    rate_out=Decimal("2"))

    members, sales = [], []
    for n in range(MEMBERS):
        member = member_register(data=MemberInput(mobile=f"1380013{n:04d}", name=f"会员{n}",
                                                  home_store_code=store.code), now=now)
        points_adjust(member_id=member.pk, points=10_000_000, operator_id=owner.pk,
                      reason="contract run")
        order_no = f"S-SEED-{n}"
        record_sale(sale=SaleInput(
            store_code=store.code, order_no=order_no, member_id=member.pk,
            ordered_at=now - timedelta(days=1),
            lines=(LineInput(line_no=1, sku="TEA", quantity=SALE_QUANTITY,
                             gross_amount=Decimal("100000.00")),)))
        paid_purchase(member_id=member.pk, plan_code=plan.code, purchase_id=f"P-SEED-{n}",
                      amount=plan.price, channel="api")
        members.append(member)
        sales.append({"store": store.code, "order_no": order_no, "member": member.pk})
    benefit_grants_issue(grant_period="monthly")

    by_member = {}
    for member in members:
        grants = BenefitGrant.objects.filter(member=member)
        to_use = grants.get(benefit=usable)
        benefit_grant_claim(member_id=member.pk, grant_id=to_use.pk)
        by_member[member.pk] = {
            "mobile": member.mobile,
            "member_no": member.member_no,
            "holds": [points_hold(member_id=member.pk, points=HOLD_POINTS, owner_id=owner.pk,
                                  ttl=timedelta(hours=12)).hold.pk
                      for _ in range(HOLDS_PER_MEMBER)],
            "claimable": list(grants.exclude(benefit=usable).values_list("pk", flat=True)),
            "usable": [to_use.pk],
            "redemptions": [reward_redeem(member_id=member.pk, reward_id=goods.pk,
                                          source_key=f"seed:{member.pk}:{n}").pk
                            for n in range(REDEMPTIONS_PER_MEMBER)],
            "coupons": [coupon_issue(template_id=template.pk, member_id=member.pk).code
                        for _ in range(COUPONS_PER_MEMBER)],
        }
    segment = Segment.objects.create(code="active", name="在册", expression="status:active")
    snapshot = segment_snapshot_take(segment_id=segment.pk, now=now)
    return {
        "key": raw, "store": store.code, "tag": tag.code, "plan": plan.code,
        "partner": "air", "template": template.pk, "rewards": [goods.pk, coupon_reward.pk],
        "segment": segment.code, "snapshot": snapshot.pk,
        "members": [m.pk for m in members], "sales": sales,
        "by_member": {str(k): v for k, v in by_member.items()},
    }


if __name__ == "__main__":
    with transaction.atomic():
        data = seed()
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=1)
