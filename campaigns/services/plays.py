"""The brief's plays (DESIGN §2.4), shipped as draft templates an operator copies and
launches. Installing them again changes nothing (each is found by its code).

Event-triggered plays act through the trigger services (campaigns.services.triggers):
reactivation after a lapse of one repurchase cycle (the daily scan), and a new member's
first 30 days as three campaigns — a welcome coupon on registration (the feed), a reminder
seven days after registration without a purchase (the daily scan), a bonus on the first
purchase (the feed).
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from django.db import transaction

from core.clock import resolve_now
from members.models import Segment
from points.models import CouponTemplate

from ..models import (
    ActionKind,
    AudienceFilter,
    Campaign,
    CampaignAction,
    CampaignVariant,
    Grade,
    MessageTemplate,
    TriggerKind,
)

PLAY_CODES = ("play-member-day", "play-birthday-month", "play-paid-renewal",
              "play-big-promotion", "play-reactivation", "play-new-welcome",
              "play-new-day7-reminder", "play-new-first-purchase")


def _template(code: str, name: str, body: str, kind: str, now: datetime) -> MessageTemplate:
    return MessageTemplate.objects.get_or_create(
        code=code, defaults={"name": name, "channel": "sms", "kind": kind, "body": body,
                             "created_at": now})[0]


def _coupons(name: str, now: datetime, **fields) -> CouponTemplate:
    return CouponTemplate.objects.get_or_create(name=name, defaults={**fields,
                                                                     "created_at": now})[0]


def _play(code: str, now: datetime, *, variants: dict[str, list[tuple[str, dict]]],
          **fields) -> Campaign:
    campaign = Campaign.objects.filter(code=code).first()
    if campaign is not None:
        return campaign
    campaign = Campaign.objects.create(code=code, is_template=True, created_at=now,
                                       updated_at=now, **fields)
    for arm, actions in variants.items():
        variant = CampaignVariant.objects.create(campaign=campaign, code=arm)
        for kind, action_fields in actions:
            CampaignAction.objects.create(variant=variant, kind=kind, **action_fields)
    return campaign


def campaign_plays_install(*, now: datetime | None = None) -> list[Campaign]:
    now = resolve_now(now)
    with transaction.atomic():
        active = Segment.objects.get_or_create(
            code="active-members", defaults={"name": "全体有效会员",
                                             "expression": "status:active"})[0]
        member_day = _play(
            "play-member-day", now, name="会员日：每周三购物积分翻倍", grade=Grade.B,
            description="每周三，有效会员购物积分 ×2。",
            trigger=TriggerKind.WEEKLY, weekdays=[3], run_time=time(0, 0), segment=active,
            variants={"A": [(ActionKind.MULTIPLIER, {"multiplier": Decimal(2)})]})
        birthday_coupon = _coupons("生日礼券", now, kind="no_threshold", amount=Decimal(20),
                                   valid_days=31)
        birthday = _play(
            "play-birthday-month", now, name="生日月：生日券与祝福", grade=Grade.B,
            description="生日月开始时（北京时间），送生日券并发送祝福；每位会员每年一次。",
            trigger=TriggerKind.DAILY, run_time=time(9, 0), segment=active,
            audience_filter=AudienceFilter.BIRTHDAY_MONTH,
            variants={"A": [
                (ActionKind.COUPON, {"coupon_template": birthday_coupon}),
                (ActionKind.MESSAGE, {"message_template": _template(
                    "birthday-month", "生日月祝福",
                    "亲爱的{name}会员，本月是您的生日月，{coupon_value}元生日券已放入您的账户，"
                    "{coupon_valid_until}前有效。", MessageTemplate.Kind.MARKETING, now)})]})
        renewal_coupon = _coupons("续费礼券（平均客单价20%）", now, kind="no_threshold",
                                  amount=Decimal(10), face_value_min=Decimal(5),
                                  face_value_max=Decimal(100), valid_days=30)
        coupon = (ActionKind.COUPON, {"coupon_template": renewal_coupon,
                                      "coupon_percent_of_average": 20})
        renewal = _play(
            "play-paid-renewal", now, name="付费会员续费：已到期会员", grade=Grade.B,
            description="付费会员资格在过去30天内到期的会员：按其平均客单价20%送无门槛券；"
                        "B组以新品尝鲜为由；10%对照组。",
            trigger=TriggerKind.ONCE, audience_filter=AudienceFilter.PAID_ENDED,
            audience_days=30, control_percent=10,
            variants={
                "A": [coupon, (ActionKind.MESSAGE, {"message_template": _template(
                    "renewal-reminder", "续费提醒",
                    "亲爱的{name}会员，您的付费会员已到期，续费即享专属权益。"
                    "{coupon_value}元无门槛券已放入您的账户。", MessageTemplate.Kind.MARKETING,
                    now)})],
                "B": [coupon, (ActionKind.MESSAGE, {"message_template": _template(
                    "renewal-tasting", "新品尝鲜",
                    "亲爱的{name}会员，新品上市，邀您尝鲜：{coupon_value}元无门槛券已放入"
                    "您的账户，{coupon_valid_until}前有效。", MessageTemplate.Kind.MARKETING,
                    now)})]})
        pack = _coupons("大促满减券（满200减30）", now, kind="spend_save", threshold=Decimal(200),
                        amount=Decimal(30), valid_days=14)
        promotion = _play(
            "play-big-promotion", now, name="大促：风险会员与一次购买会员", grade=Grade.S,
            description="S级大促：有流失风险的会员和只买过一次的会员，送满减券包和到店礼品。",
            trigger=TriggerKind.ONCE, audience_filter=AudienceFilter.AT_RISK_OR_ONE_TIME,
            variants={"A": [(ActionKind.COUPON, {"coupon_template": pack, "coupon_count": 3}),
                            (ActionKind.GIFT, {"gift_name": "大促限定礼品", "gift_days": 14})]})
        return [member_day, birthday, renewal, promotion,
                *_event_plays(active, now)]


def _event_plays(active: Segment, now: datetime) -> list[Campaign]:
    comeback = _coupons("回归礼券（满100减20）", now, kind="spend_save", threshold=Decimal(100),
                        amount=Decimal(20), valid_days=14)
    reactivation = _play(
        "play-reactivation", now, name="唤醒：一个回购周期未购买", grade=Grade.B,
        description="会员超过自己的回购周期（没有时按方案的30天）未购买：送回归券并提醒"
                    "“您的账户里有优惠券待使用”；每次沉默一次。",
        trigger=TriggerKind.LAPSE, trigger_params={"cycle": "member"}, segment=active,
        variants={"A": [
            (ActionKind.COUPON, {"coupon_template": comeback}),
            (ActionKind.MESSAGE, {"message_template": _template(
                "reactivation-coupons-waiting", "唤醒：券待使用",
                "亲爱的{name}会员，您的账户里有优惠券待使用：{coupon_value}元券，"
                "{coupon_valid_until}前有效。", MessageTemplate.Kind.MARKETING, now)})]})
    welcome_coupon = _coupons("新会员欢迎券", now, kind="no_threshold", amount=Decimal(10),
                              valid_days=30)
    welcome = _play(
        "play-new-welcome", now, name="新会员30天：注册欢迎券", grade=Grade.B,
        description="新会员注册即送欢迎券并发送欢迎消息（批量导入的会员除外）。",
        trigger=TriggerKind.REGISTRATION, segment=active,
        variants={"A": [
            (ActionKind.COUPON, {"coupon_template": welcome_coupon}),
            (ActionKind.MESSAGE, {"message_template": _template(
                "new-member-welcome", "新会员欢迎",
                "欢迎加入，{name}！{coupon_value}元欢迎券已放入您的账户，"
                "{coupon_valid_until}前有效。", MessageTemplate.Kind.MARKETING, now)})]})
    reminder = _play(
        "play-new-day7-reminder", now, name="新会员30天：第7天未购买提醒", grade=Grade.B,
        description="注册满7天仍未购买的新会员：提醒欢迎券还在账户里。",
        trigger=TriggerKind.NEW_NO_PURCHASE, trigger_params={"days": 7}, segment=active,
        variants={"A": [(ActionKind.MESSAGE, {"message_template": _template(
            "new-member-day7", "新会员第7天提醒",
            "亲爱的{name}会员，您的新会员欢迎券还在账户里，别忘了使用哦。",
            MessageTemplate.Kind.MARKETING, now)})]})
    first = _play(
        "play-new-first-purchase", now, name="新会员30天：首单奖励积分", grade=Grade.B,
        description="会员的第一笔消费：额外奖励200积分。",
        trigger=TriggerKind.FIRST_PURCHASE, segment=active,
        variants={"A": [(ActionKind.POINTS, {"points": 200})]})
    return [reactivation, welcome, reminder, first]
