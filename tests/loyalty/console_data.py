"""A small programme with at least one row behind every page of the operator console, built
through the services (as the intake, the jobs and the operators would), and the users of
each role. Names are Chinese and codes upper case, so any English on a page is the
console's own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from loyalty import roles
from loyalty.models import Scope
from loyalty.services import intake
from loyalty.services.api_keys import api_key_create
from members.defaults import ensure_default_rfm_segments
from members.models import ActivityKind, Segment, Store, Tag, TagCondition, TagGroup, TagRule
from members.services.activity import ActivityInput
from members.services.members import MemberInput
from members.services.nightly import insights_rebuild
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from members.services.segments import segment_snapshot_take
from members.services.tags import member_tags_add
from points.models import CouponTemplate, EarningRule, PartnerProgramme, Reward
from points.services.coupons import coupon_issue
from points.services.holds import points_hold
from points.services.ledger import points_adjust
from points.services.liability import points_liability_rollup
from points.services.partners import partner_exchange_in
from points.services.rewards import reward_redeem
from tiers.defaults import ensure_default_ladder
from tiers.models import Tier
from tiers.models.benefits import Benefit, BenefitAttachment, BenefitKind, GrantPeriod
from tiers.models.paid import PaidPlan, PurchaseChannel
from tiers.services.benefits import benefit_grants_issue
from tiers.services.paid import paid_purchase

D = Decimal


@dataclass
class ConsoleData:
    superuser: object
    by_role: dict[str, object]
    names: frozenset[str]  # user and group names: data, not the console's words
    member: object  # the member with sales, points, a tier, a paid plan and tags


def build_console_data() -> ConsoleData:
    """One of everything: members with sales, a return, check-ins and tags; points entries
    with their rule explanations, a hold, a partner exchange, an adjustment, a redemption
    and a coupon; growth, tier changes, benefits, a paid plan bought; insights, a rule tag,
    a segment with a snapshot; the liability rollup; an API key; beat's schedules."""
    ensure_default_ladder()  # loaded by migrations; put back after a flushing test
    ensure_default_rfm_segments()
    User = get_user_model()
    superuser = User.objects.create_superuser("root", "root@example.com", "x")
    groups = roles.roles_sync()
    by_role = {}
    for name, group in groups.items():
        user = User.objects.create_user(f"{name}-user", password="x", is_staff=True)
        user.groups.add(group)
        by_role[name] = user

    now = timezone.now()
    earlier = now - timedelta(days=20)
    store = Store.objects.create(code="SH001", name="上海南京西路店", region="上海")
    group = TagGroup.objects.create(name="兴趣", sort_order=1)
    tag = Tag.objects.create(code="SPORTS", name="运动达人", group=group)

    plan = PaidPlan.objects.create(code="ANNUAL", name="年卡会员", duration_months=12,
                                   price=D("199.00"))
    template = CouponTemplate.objects.create(name="满200减30", kind="spend_save",
                                             threshold=D("200"), amount=D("30"),
                                             valid_days=30, created_at=earlier)
    double = Benefit.objects.create(code="POINTS-X", name="积分加倍",
                                    kind=BenefitKind.POINTS_MULTIPLIER)
    pack = Benefit.objects.create(code="MONTHLY-PACK", name="每月满减券",
                                  kind=BenefitKind.COUPON_PACK, grant_period=GrantPeriod.MONTHLY,
                                  coupon_template=template, unit_cost=D("5"))
    registered = Tier.objects.get(code="registered")
    BenefitAttachment.objects.create(benefit=pack, tier=registered, quantity=1)
    BenefitAttachment.objects.create(benefit=double, plan=plan, multiplier=D("2"))

    members = []
    for n in range(2):
        members.append(intake.register_member(data=MemberInput(
            mobile=f"1380013{n:04d}", name=f"王会员{n}", gender="female",
            home_store_code=store.code, source_channel="store", marketing_consent=True,
            consent_source="门店登记", enrolled_by_id=superuser.pk), now=earlier).member)
    member = members[0]
    member_tags_add(tag_id=tag.pk, member_ids=[member.pk], now=earlier)
    paid_purchase(member_id=member.pk, plan_code=plan.code, purchase_id="PAY-1",
                  amount=D("199.00"), channel=PurchaseChannel.ADMIN,
                  operator_id=superuser.pk, now=earlier)
    for n in range(3):
        at = earlier + timedelta(days=n + 1)
        intake.record_sale(sale=SaleInput(
            store_code=store.code, order_no=f"A{n:03d}", member_id=member.pk, ordered_at=at,
            lines=(LineInput(line_no=1, sku="TEA-01", category="茶", quantity=2,
                             gross_amount=D("1200.00")),
                   LineInput(line_no=2, sku="MUG-01", category="杯", quantity=1,
                             gross_amount=D("49.00")))), now=at)
    intake.record_return(ret=ReturnInput(
        store_code=store.code, order_no="A000-R", sale_order_no="A000",
        ordered_at=earlier + timedelta(days=5),
        lines=(ReturnLineInput(line_no=2, quantity=1),)), now=earlier + timedelta(days=5))
    intake.record_activity(data=ActivityInput(
        member_id=member.pk, kind=ActivityKind.CHECKIN, source_key="checkin-1",
        occurred_at=earlier + timedelta(days=6)), now=earlier + timedelta(days=6))

    points_adjust(member_id=member.pk, points=500, operator_id=superuser.pk, reason="补偿",
                  now=earlier + timedelta(days=7))
    points_hold(member_id=member.pk, points=10, reference="收银台 1", now=now)
    partner = PartnerProgramme.objects.create(code="AIRLINE", name="航空里程",
                                              rate_in=D("0.5"), rate_out=D("2"))
    partner_exchange_in(partner_code=partner.code, member_id=member.pk, partner_points=200,
                        external_id="EX-1", now=earlier + timedelta(days=8))
    reward = Reward.objects.create(name="保温杯", kind="goods", points_cost=100, stock=20,
                                   created_at=earlier)
    reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="redeem-1",
                  fulfilment="pickup", store_code=store.code, now=earlier + timedelta(days=9))
    coupon_issue(template_id=template.pk, member_id=member.pk, source_key="coupon-1",
                 now=earlier + timedelta(days=9))
    benefit_grants_issue(grant_period=GrantPeriod.MONTHLY, now=now)

    big = Tag.objects.create(code="BIG-SPENDER", name="高消费", kind=Tag.Kind.RULE)
    rule = TagRule.objects.create(tag=big)
    TagCondition.objects.create(rule=rule, kind=TagCondition.Kind.STATISTIC,
                                statistic="net_spend", minimum=D("1000"))
    insights_rebuild(now=now)
    segment = Segment.objects.create(code="WOMEN", name="女性会员", expression="gender:female")
    segment_snapshot_take(segment_id=segment.pk, now=now)
    points_liability_rollup(now=now)
    api_key_create(name="门店收银", scopes=list(Scope.values), owner_id=superuser.pk)

    every_hour = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    CrontabSchedule.objects.create(minute="10", hour="0")
    SolarSchedule.objects.create(event="sunrise", latitude=D("31.23"), longitude=D("121.47"))
    ClockedSchedule.objects.create(clocked_time=now + timedelta(days=1))
    PeriodicTask.objects.create(name="每小时汇总", task="points.tasks.rollup_liability",
                                interval=every_hour)
    names = frozenset([superuser.username, *groups, *(u.username for u in by_role.values()),
                       *Tier.objects.values_list("name", flat=True),
                       *(str(s) for s in Store.objects.all()),
                       *EarningRule.objects.values_list("name", flat=True)])
    return ConsoleData(superuser=superuser, by_role=by_role, names=names, member=member)
