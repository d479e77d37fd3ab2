"""A small programme with at least one row of every model the admin shows, made the way
the product makes them (the intake, the services, the demo command's catalog and logins),
so that every admin page has something to open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from core.actor import Actor, acting_as
from loyalty import roles
from loyalty.demo.access import LOGINS, demo_logins
from loyalty.demo.catalog import demo_catalog
from loyalty.models import Scope
from loyalty.services import intake
from loyalty.services.api_keys import api_key_create
from members.models import (
    ActivityKind,
    Member,
    Segment,
    Store,
    Tag,
    TagChange,
    TagCondition,
    TagGroup,
    TagRule,
)
from members.services.access import member_mobile_reveal
from members.services.activity import ActivityInput
from members.services.members import MemberInput
from members.services.nightly import insights_rebuild
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from members.services.tag_import import tag_import_run, tag_import_stage
from members.services.tags import member_tags_add
from points.models import CouponTemplate, Reward
from points.services.coupons import coupon_issue
from points.services.holds import points_hold
from points.services.ledger import points_adjust
from points.services.liability import points_liability_rollup
from points.services.partners import partner_exchange_in
from points.services.rewards import reward_redeem
from points.services.transfers import points_transfer
from tiers.models import Tier
from tiers.models.paid import PurchaseChannel
from tiers.services.benefits import benefit_grants_issue
from tiers.services.ladder import tier_set_manual
from tiers.services.paid import paid_purchase

SUPERUSER = "superuser"


@dataclass
class World:
    users: dict[str, object]  # role (group name, or "superuser") → a staff login
    member: Member
    store: Store


def role_users() -> dict[str, object]:
    """A login per role: the demo's own logins (made by the demo command), and for a role
    the demo has no login for, a staff user in the group roles_sync made."""
    groups = roles.roles_sync()
    demo_logins()
    User = get_user_model()
    users = {login.group: User.objects.get(username=login.username) for login in LOGINS}
    for name, group in groups.items():
        if name not in users:
            user = User.objects.create_user(f"{name}-login", password="x", is_staff=True)
            user.groups.add(group)
            users[name] = user
    users[SUPERUSER] = User.objects.create_superuser("root", password="x")
    return users


def world_campaign(now) -> None:
    """The shipped plays, and a copy of one that has run: an occasion, its members, a gift
    and a message, delivered to the outbox."""
    from campaigns.models import CampaignAction, CampaignVariant, MessageTemplate
    from campaigns.services.copy import campaign_copy
    from campaigns.services.plays import campaign_plays_install
    from campaigns.services.schedule import campaigns_tick
    from campaigns.services.status import campaign_schedule

    plays = {c.code: c for c in campaign_plays_install(now=now)}
    campaign = campaign_copy(campaign_id=plays["play-big-promotion"].pk, code="spring",
                             name="春季回馈", now=now)
    campaign.run_at = now
    campaign.audience_filter = ""
    campaign.save()
    variant = CampaignVariant.objects.get(campaign=campaign)
    CampaignAction.objects.create(variant=variant, kind="message",
                                  message_template=MessageTemplate.objects.first())
    campaign_schedule(campaign_id=campaign.pk, now=now)
    campaigns_tick(now=now)
    # delivered through the outbox (a day on: past any quiet hours)
    from campaigns.services.delivery import messages_deliver

    messages_deliver(now=now + timedelta(days=1))


def world_lottery(now, member) -> None:
    """A lottery that has opened, with one draw, and a draft one still being set up."""
    from campaigns.models import Lottery, LotteryPrize
    from campaigns.services.lottery import lottery_create, lottery_draw, lottery_open

    opened = lottery_create(lottery=Lottery(code="spring-lottery", name="春季抽奖",
                                            cost_kind="points", cost_points=10), now=now)
    thanks = LotteryPrize.objects.create(lottery=opened, name="谢谢参与", kind="nothing",
                                         weight=5)
    LotteryPrize.objects.create(lottery=opened, name="帆布袋", kind="goods", weight=1, stock=3,
                                fallback=thanks)
    lottery_open(lottery_id=opened.pk, now=now)
    lottery_draw(lottery_id=opened.pk, member_id=member.pk, draw_id="world-draw-1", now=now)
    draft = lottery_create(lottery=Lottery(code="draft-lottery", name="草稿抽奖",
                                           cost_kind="free"), now=now)
    LotteryPrize.objects.create(lottery=draft, name="20积分", kind="points", weight=1,
                                points=20)
    from campaigns.models import Task
    from campaigns.services.tasks import tasks_evaluate

    Task.objects.create(code="first-purchase", name="首次购物", goal="first_purchase",
                        created_at=now)
    tasks_evaluate(member_id=member.pk, now=now)


def build_world() -> World:
    from campaigns.defaults import ensure_default_grade_targets

    ensure_default_grade_targets()  # a data migration's rows, gone after a flushing test
    now = timezone.now()
    users = role_users()
    operator = users[roles.OPERATORS]
    store = Store.objects.get_or_create(code="SH001", defaults={
        "name": "上海南京西路店", "region": "上海"})[0]
    group = TagGroup.objects.create(name="兴趣")
    sports = Tag.objects.create(code="sports", name="运动达人", group=group)
    member = intake.register_member(data=MemberInput(
        mobile="13800138000", name="王芳", gender="female", home_store_code=store.code,
        marketing_consent=True, consent_source="store"), now=now - timedelta(days=40)).member
    sale_at = now - timedelta(days=30)
    intake.record_sale(sale=SaleInput(
        store_code=store.code, order_no="A-1", member_id=member.pk, ordered_at=sale_at,
        lines=(LineInput(line_no=1, sku="JACKET", category="apparel", quantity=5,
                         gross_amount=Decimal("2995.00")),)), now=sale_at)
    intake.record_activity(data=ActivityInput(
        member_id=member.pk, kind=ActivityKind.CHECKIN, source_key="checkin-1",
        occurred_at=now - timedelta(days=1)), now=now - timedelta(days=1))
    member_tags_add(tag_id=sports.pk, member_ids=[member.pk], cause=TagChange.Cause.MANUAL,
                    now=now)
    imported = tag_import_stage(tag_id=sports.pk, sources=[[f"{member.member_no}\n".encode()]],
                                requested_by_id=operator.pk, now=now)
    tag_import_run(job_id=imported.pk, now=now)

    demo_catalog(now)  # coupon templates, rewards, benefits, a paid plan, a partner
    points_adjust(member_id=member.pk, points=5_000, operator_id=operator.pk,
                  reason="starting balance", now=now)
    reward_redeem(member_id=member.pk, reward_id=Reward.objects.get(kind="goods").pk,
                  source_key="world-redeem", fulfilment="pickup", store_code=store.code,
                  now=now)
    coupon_issue(template_id=CouponTemplate.objects.get(kind="spend_save").pk,
                 member_id=member.pk, source_key="world-coupon", now=now)
    points_hold(member_id=member.pk, points=100, reference="basket-1", now=now)
    relative = intake.register_member(data=MemberInput(mobile="13800138001", name="王芳家人"),
                                      now=now).member
    points_transfer(sender_id=member.pk, receiver_id=relative.pk, points=100,
                    key="world-transfer", note="给家人", operator_id=operator.pk, now=now)
    tier_set_manual(member_id=relative.pk, tier_id=Tier.objects.get(code="gold").pk,
                    reason="vip", ends_at=now + timedelta(days=90), note="贵宾",
                    operator_id=operator.pk, now=now)
    partner_exchange_in(partner_code="airline", member_id=member.pk, partner_points=200,
                        external_id="air-1", now=now)
    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="pay-1",
                  amount=Decimal("199.00"), channel=PurchaseChannel.ADMIN,
                  operator_id=operator.pk, now=now)
    benefit_grants_issue(grant_period="monthly", now=now)
    # stored value with a bonus, a gift card sold, a sale paid with both and part returned
    from points.models import TopUpBonusRule
    from points.services.gift_cards import gift_card_activate, gift_card_batch_issue
    from points.services.stored_value import stored_value_expire_due, stored_value_top_up
    from points.services.tenders import TenderInput

    TopUpBonusRule.objects.create(name="充500送50", min_amount=Decimal("500"),
                                  bonus=Decimal("50"), bonus_valid_days=30)
    stored_value_top_up(member_id=member.pk, amount="500", key="world-top-up",
                        now=now - timedelta(days=60))
    stored_value_top_up(member_id=member.pk, amount="600", key="world-top-up-2", now=now)
    stored_value_expire_due(now=now)
    card = gift_card_batch_issue(name="礼品卡", face_value="100", quantity=2, now=now).cards[0]
    gift_card_activate(code=card.code, key="world-card", now=now)
    intake.record_sale(sale=SaleInput(
        store_code=store.code, order_no="A-2", member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SCARF", category="apparel", quantity=2,
                         gross_amount=Decimal("300.00")),)),
        tenders=(TenderInput(kind="stored_value", amount=Decimal("200.00")),
                 TenderInput(kind="gift_card", amount=Decimal("100.00"),
                             gift_card_code=card.code, gift_card_pin=card.pin)), now=now)
    intake.record_return(ret=ReturnInput(store_code=store.code, order_no="A-2R",
                                         sale_order_no="A-2", ordered_at=now,
                                         lines=(ReturnLineInput(line_no=1, quantity=1),)),
                         now=now)
    points_liability_rollup(now=now)

    big = Tag.objects.create(code="big-spender", name="高消费", kind=Tag.Kind.RULE)
    rule = TagRule.objects.create(tag=big)
    TagCondition.objects.create(rule=rule, kind=TagCondition.Kind.STATISTIC,
                                statistic="net_spend", minimum=Decimal(1000))
    Segment.objects.create(code="women", name="女性会员", expression="gender:female")
    insights_rebuild(now=now)
    api_key_create(name="storefront", scopes=list(Scope.values), owner_id=operator.pk)
    world_campaign(now)
    world_lottery(now, member)

    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0", hour="3")
    ClockedSchedule.objects.create(clocked_time=now + timedelta(days=1))
    SolarSchedule.objects.create(event="sunrise", latitude=Decimal("31.23"),
                                 longitude=Decimal("121.47"))
    PeriodicTask.objects.get_or_create(name="heartbeat", defaults={
        "task": "loyalty.tasks.health_heartbeat", "interval": every_minute})

    # the access record: a reveal, an admin change, a failed login
    with acting_as(Actor(user_id=users[roles.FINANCE].pk)):
        member_mobile_reveal(member_id=member.pk)
    LogEntry.objects.create(user=operator, content_type=ContentType.objects.get_for_model(Tag),
                            object_id=str(sports.pk), object_repr=str(sports),
                            action_flag=CHANGE, change_message="[]")
    AccessAttempt.objects.create(username="intruder", ip_address="192.0.2.9", user_agent="",
                                 path_info="/admin/login/", get_data="", post_data="",
                                 http_accept="", failures_since_start=2)
    AccessFailureLog.objects.create(username="intruder", ip_address="192.0.2.9",
                                    user_agent="", path_info="/admin/login/", http_accept="",
                                    locked_out=False)
    # a webhook subscription (its receiver refuses connections) and one delivery in its log
    from loyalty.models import WebhookDelivery
    from loyalty.services.webhooks import webhook_subscription_create
    hooks = webhook_subscription_create(
        name="CRM", url="http://127.0.0.1:9/hooks", event_types=["member.registered"],
        owner_id=users[roles.PROGRAMME_ADMINS].pk, now=now)
    WebhookDelivery.objects.create(
        subscription=hooks, event_key=f"members:{member.pk}", event_type="member.registered",
        member_id=member.pk, payload={"type": "member.registered",
                                      "data": {"member_id": member.pk}},
        next_attempt_at=now, created_at=now)
    return World(users=users, member=member, store=store)
