"""What the demo programme offers: coupons and rewards to redeem, benefits on the reference
ladder, two paid plans and a partner programme — each created once, found by its name or
code, so running the demo again adds nothing twice."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from points.models import CouponTemplate, PartnerProgramme, PointsSettings, Reward
from tiers.models import Tier
from tiers.models.benefits import Benefit, BenefitAttachment
from tiers.models.paid import PaidPlan

# Points earned in the demo's year expire after six months, so the year shows expiry (and
# breakage) beside issuing and redeeming; the reference default is 24 months.
DEMO_EXPIRY_MONTHS = 6


def demo_points_settings() -> None:
    """The demo programme's points settings (set when the demo is first loaded)."""
    settings = PointsSettings.load()
    settings.expiry_policy = PointsSettings.ExpiryPolicy.ROLLING
    settings.expiry_months = DEMO_EXPIRY_MONTHS
    settings.save()


@transaction.atomic
def demo_catalog(now: datetime) -> None:
    def template(name, **terms):
        return CouponTemplate.objects.get_or_create(name=name, defaults={
            "valid_days": 30, "created_at": now, **terms})[0]

    spend_save = template("满200减30", kind="spend_save", threshold=Decimal("200"),
                          amount=Decimal("30"))
    shipping = template("包邮券", kind="free_shipping", threshold=Decimal("0"))
    template("全场9折券", kind="percent_off", threshold=Decimal("0"), percent_off=10,
             max_discount=Decimal("50"))
    for name, kind, cost, extra in (
            ("帆布托特包", "goods", 800, {"stock": 50, "per_member_limit": 1}),
            ("满200减30券", "coupon", 500, {"coupon_template": spend_save}),
            ("包邮券", "coupon", 200, {"coupon_template": shipping})):
        Reward.objects.get_or_create(name=name, defaults={
            "kind": kind, "points_cost": cost, "created_at": now, **extra})

    def benefit(code, name, kind, **fields):
        return Benefit.objects.get_or_create(code=code, defaults={
            "name": name, "kind": kind, **fields})[0]

    double = benefit("points-x", "积分加倍", "points_multiplier")
    discount = benefit("member-price", "会员折扣", "tier_discount")
    pack = benefit("monthly-shipping", "每月包邮券", "coupon_pack", grant_period="monthly",
                   coupon_template=shipping)
    birthday = benefit("birthday-gift", "生日礼", "birthday_gift",
                       grant_period="birthday_month", unit_cost=Decimal("30"))
    tiers = {t.code: t for t in Tier.objects.all()}
    annual = PaidPlan.objects.get_or_create(code="annual", defaults={
        "name": "年卡会员", "duration_months": 12, "price": Decimal("199.00")})[0]
    quarterly = PaidPlan.objects.get_or_create(code="quarterly", defaults={
        "name": "季卡会员", "duration_months": 3, "price": Decimal("59.00")})[0]
    for owner, item, params in (
            ("silver", double, {"multiplier": Decimal("1.2")}),
            ("gold", double, {"multiplier": Decimal("1.5")}),
            ("gold", discount, {"discount_rate": Decimal("0.95")}),
            ("gold", pack, {"quantity": 1}),
            ("diamond", double, {"multiplier": Decimal("2")}),
            ("diamond", discount, {"discount_rate": Decimal("0.90")}),
            ("diamond", pack, {"quantity": 2}),
            ("silver", birthday, {"quantity": 1}),
            ("gold", birthday, {"quantity": 1}),
            ("diamond", birthday, {"quantity": 1}),
            (annual, double, {"multiplier": Decimal("2")}),
            (annual, pack, {"quantity": 2}),
            (quarterly, double, {"multiplier": Decimal("1.5")}),
            (quarterly, pack, {"quantity": 1})):
        if isinstance(owner, PaidPlan):
            BenefitAttachment.objects.get_or_create(benefit=item, plan=owner, defaults=params)
        elif (tier := tiers.get(owner)) is not None:
            BenefitAttachment.objects.get_or_create(benefit=item, tier=tier, defaults=params)
    PartnerProgramme.objects.get_or_create(code="airline", defaults={
        "name": "航空里程", "rate_in": Decimal("0.5"), "rate_out": Decimal("2"),
        "member_daily_limit_in": 10_000})
