"""Demo data for a first look: stores, a few hundred members with orders, tags and activity,
a rewards catalog with coupons, benefits on the reference ladder, a paid plan, a partner
programme, and a login per role. Running it again adds nothing twice.

It refuses to run with DEBUG off unless given --force; it never changes the password of a
login that exists already, and never revokes an API key."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from loyalty import intake, roles
from loyalty.models import ApiKey, Scope
from loyalty.services import api_key_create
from members.models import (
    ActivityKind,
    Member,
    Segment,
    Store,
    StoreStaff,
    Tag,
    TagCondition,
    TagGroup,
    TagRule,
)
from members.services import (
    ActivityInput,
    LineInput,
    MemberInput,
    ReturnInput,
    ReturnLineInput,
    SaleInput,
    member_tags_add,
)
from members.services.insights import insights_rebuild
from points.models import CouponTemplate, PartnerProgramme, Reward
from tiers.benefit_models import Benefit, BenefitAttachment
from tiers.models import Tier
from tiers.paid_models import PaidPlan

LOGINS = (
    ("progadmin", "progadmin-demo-2026", roles.PROGRAMME_ADMINS,
     "Programme admin (staff, API keys)"),
    ("operator", "operator-demo-2026", roles.OPERATORS, "Operator (admin console)"),
    ("clerk", "clerk-demo-2026", roles.CLERKS, "Clerk (stores SH001, SH002)"),
    ("finance", "finance-demo-2026", roles.FINANCE, "Finance (read-only figures)"),
)
CLERK_STORES = ("SH001", "SH002")
STORES = (
    ("SH001", "上海南京西路店", "上海"), ("SH002", "上海徐家汇店", "上海"),
    ("BJ001", "北京三里屯店", "北京"), ("GZ001", "广州天河店", "广东"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
CATEGORIES = (("apparel", "T-SHIRT", 129), ("apparel", "JACKET", 599), ("shoes", "SNEAKER", 459),
              ("beauty", "SERUM", 299), ("food", "TEA", 68), ("home", "MUG", 49))
TAGS = (("interests", "兴趣", (("sports", "运动达人"), ("beauty-lover", "美妆爱好者"),
                                 ("foodie", "美食家"))),
        ("service", "服务", (("vip-care", "重点关怀"), ("complained", "有过投诉"))))
MEMBERS = 300
DEMO_KEY_NAME = "demo storefront"


class Command(BaseCommand):
    help = "Load demo stores, members, orders, tags and logins (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Run even with DEBUG off (the demo logins have published "
                                 "passwords: never on a production database).")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options.get("force"):
            raise CommandError("DEBUG is off: this looks like production, and the demo adds "
                               "logins with published passwords. Use --force to load it "
                               "anyway.")
        roles.roles_sync()
        logins = self.logins()
        if Member.objects.filter(external_id__startswith="demo-").exists():
            self.stdout.write("Demo data already loaded.")
        else:
            self.load()
        self.catalog(timezone.now())
        self.stdout.write("\nLogins:")
        for username, password, _group, label in logins:
            self.stdout.write(f"  {label:<36} user {username:<10} password {password}")
        self.stdout.write(f"\nAPI key (all scopes): {self.api_key()}")

    def insights(self, now):
        """A rule tag, a segment, and the nightly rebuild (statistics, RFM, lifecycle)."""
        big, _ = Tag.objects.get_or_create(code="big-spender", defaults={
            "name": "高消费", "kind": Tag.Kind.RULE})
        rule, created = TagRule.objects.get_or_create(tag=big)
        if created:
            TagCondition.objects.create(rule=rule, kind=TagCondition.Kind.STATISTIC,
                                        statistic="net_spend", minimum=Decimal("1000"))
        Segment.objects.get_or_create(code="women-big-spenders", defaults={
            "name": "高消费女性会员", "expression": "tag:big-spender and gender:female"})
        insights_rebuild(now=now)

    @transaction.atomic
    def catalog(self, now):
        """Coupons and rewards to redeem, benefits on the reference ladder, an annual paid
        plan and a partner programme — each created once, found by its name or code."""
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
        plan = PaidPlan.objects.get_or_create(code="annual", defaults={
            "name": "年卡会员", "duration_months": 12, "price": Decimal("199.00")})[0]
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
                (plan, double, {"multiplier": Decimal("2")}),
                (plan, pack, {"quantity": 2})):
            where = {"plan": owner} if owner is plan else {"tier": tiers.get(owner)}
            if where.get("tier", plan) is not None:
                BenefitAttachment.objects.get_or_create(benefit=item, **where, defaults=params)
        PartnerProgramme.objects.get_or_create(code="airline", defaults={
            "name": "航空里程", "rate_in": Decimal("0.5"), "rate_out": Decimal("2"),
            "member_daily_limit_in": 10_000})

    def logins(self):
        """A login per role, made once: a login that exists keeps its password, so a second
        run never resets what someone set since (it shows the demo password only while it
        still opens the login)."""
        User = get_user_model()
        shown = []
        for username, password, group, label in LOGINS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, password=password, is_staff=True)
                user.groups.add(Group.objects.get(name=group))
            elif not user.check_password(password):
                password = "(changed since the demo made it)"
            shown.append((username, password, group, label))
        clerk = User.objects.get(username="clerk")
        for code, name, region in STORES:
            if code in CLERK_STORES:
                store = Store.objects.get_or_create(code=code, defaults={
                    "name": name, "region": region})[0]
                StoreStaff.objects.get_or_create(user=clerk, store=store)
        return shown

    def api_key(self) -> str:
        """The demo key, made on the first run and owned by the programme admin. A key's
        secret is shown once: a later run keeps the key (and revokes none)."""
        if ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).exists():
            return "(made by an earlier run; its secret was shown then)"
        owner = get_user_model().objects.get(username="progadmin")
        _key, plaintext = api_key_create(name=DEMO_KEY_NAME, scopes=list(Scope.values),
                                         owner_id=owner.pk)
        return plaintext

    @transaction.atomic
    def load(self):
        rng = random.Random(2026)
        now = timezone.now()
        stores = [Store.objects.get_or_create(code=c, defaults={"name": n, "region": r})[0]
                  for c, n, r in STORES]
        tags = []
        for order, (code, name, items) in enumerate(TAGS):
            group, _ = TagGroup.objects.get_or_create(name=name, defaults={"sort_order": order})
            for tag_code, tag_name in items:
                tags.append(Tag.objects.get_or_create(
                    code=tag_code, defaults={"name": tag_name, "group": group})[0])
        for n in range(MEMBERS):
            joined = now - timedelta(days=rng.randint(1, 720))
            store = rng.choice(stores)
            member = intake.register_member(data=MemberInput(
                mobile=f"139{rng.randint(0, 99_999_999):08d}",
                name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                gender=rng.choice(["female", "male", "unknown"]),
                birthday=(now - timedelta(days=rng.randint(18 * 365, 60 * 365))).date(),
                region=store.region, home_store_code=store.code,
                source_channel=rng.choice(["store", "mini_program", "web"]),
                external_id=f"demo-{n}", marketing_consent=rng.random() < 0.7,
                consent_source="demo",
            ), now=joined).member
            for order_index in range(rng.randint(0, 6)):
                at = joined + timedelta(days=rng.randint(0, (now - joined).days or 1))
                lines = []
                for line_no in range(1, rng.randint(1, 3) + 1):
                    category, sku, price = rng.choice(CATEGORIES)
                    qty = rng.randint(1, 3)
                    gross = Decimal(price * qty)
                    coupon = Decimal(rng.choice([0, 0, 10, 20])).min(gross)
                    lines.append(LineInput(line_no=line_no, sku=sku, category=category,
                                           quantity=qty, gross_amount=gross,
                                           coupon_discount=coupon))
                sale_store = rng.choice(stores)
                order_no = f"D{n:04d}-{order_index}"
                intake.record_sale(sale=SaleInput(store_code=sale_store.code, order_no=order_no,
                                                  member_id=member.pk, ordered_at=at,
                                                  lines=tuple(lines)), now=at)
                if rng.random() < 0.05:
                    intake.record_return(ret=ReturnInput(
                        store_code=sale_store.code, order_no=f"{order_no}-R",
                        sale_order_no=order_no, ordered_at=at + timedelta(days=2),
                        lines=(ReturnLineInput(line_no=1, quantity=1),)),
                        now=at + timedelta(days=2))
            for day in range(rng.randint(0, 5)):
                at = now - timedelta(days=day, hours=rng.randint(0, 12))
                intake.record_activity(data=ActivityInput(
                    member_id=member.pk, kind=ActivityKind.CHECKIN,
                    source_key=f"demo-checkin-{n}-{day}", occurred_at=at), now=at)
        members = list(Member.objects.filter(external_id__startswith="demo-")
                       .values_list("pk", flat=True))
        for tag in tags:
            member_tags_add(tag_id=tag.pk, member_ids=rng.sample(members, k=40), now=now)
        self.insights(now)
        self.stdout.write(f"Loaded {len(stores)} stores, {MEMBERS} members with orders, "
                          f"tags and check-ins.")
