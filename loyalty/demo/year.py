"""The demo programme's year, day by day, through the product's own services and jobs.

Members imported in bulk shop (sales, a few returns, points as cash, coupons), check in,
redeem rewards, claim and use the benefits their tier or paid plan grants, and buy paid
plans, some renewing and some lapsing; new members register. Every event goes through the
intake or the service an API call would use, at its own moment (`now`), and after each day
the nightly jobs run at the times beat runs them — unlock, expiry, lapse, decay, tier
re-evaluation, benefit grants, coupon expiry; the liability rollup on the first of each
month. So what the demo shows is what the product would have written over the year.

The shoppers follow profiles: a few big spenders who climb to Gold and Diamond, some who
reach Silver, some who reached Silver with one big purchase at the start and are
re-evaluated a year later, and many occasional buyers whose points expire unspent.
"""

from __future__ import annotations

import heapq
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from core.clock import programme_tz
from core.errors import LoyaltyError
from core.money import CENT, ZERO
from loyalty.services import intake
from members.management.commands.seed_members import (
    CATEGORIES,
    GIVEN_FEMALE,
    GIVEN_MALE,
    SURNAMES,
)
from members.models import ActivityKind, Member, Store
from members.services.activity import ActivityInput
from members.services.members import MemberInput
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.models import Coupon, PointsAccount, PointsSettings, Reward
from points.services.coupons import Basket, BasketLine, coupon_redeem, coupons_expire_due
from points.services.holds import points_hold, points_hold_capture, points_holds_expire_due
from points.services.ledger import points_expire_due, points_unlock_due
from points.services.liability import points_liability_rollup
from points.services.payments import PaymentRef
from points.services.rewards import redemption_advance, redemption_cancel, reward_redeem
from tiers.models.benefits import BenefitGrant, GrantCoupon
from tiers.models.paid import PaidPlan
from tiers.selectors.benefits import member_discount_rate
from tiers.services.benefits import (
    benefit_grant_claim,
    benefit_grant_use,
    benefit_grants_expire_due,
    benefit_grants_issue_due,
)
from tiers.services.decay import growth_decay_due
from tiers.services.ladder import tier_recalculate_if_due, tier_reevaluate_due
from tiers.services.paid import paid_lapse_due, paid_purchase

DAY = timedelta(days=1)
OPEN_HOUR, CLOSE_HOUR = 10, 21  # shops' hours, Beijing time
SHIPPING_FEE = Decimal("10")


@dataclass(frozen=True)
class Profile:
    """A kind of shopper: how many (before scaling), sales in the year and one sale's
    gross in yuan."""

    count: int
    sales: tuple[int, int]
    basket: tuple[int, int]
    discount: bool = False  # may hold a tier or plan with a member price


PROFILES = {
    "diamond": Profile(2, (14, 16), (1800, 3000), discount=True),
    "gold": Profile(3, (9, 11), (1000, 1700), discount=True),
    "silver": Profile(6, (5, 7), (380, 650), discount=True),
    "regular": Profile(32, (1, 3), (60, 600)),
}
EARLY_SILVER = 3        # reach Silver with one big sale in the first week: re-evaluated later
NEW_MEMBERS = 16        # register during the year
CHECKING_IN = 12        # members who check in now and then
ANNUAL_BUYERS = 8       # annual plan: a few in the first weeks, so some come up for renewal
QUARTERLY_BUYERS = 10   # quarterly plan: renew or lapse each quarter
RETURN_RATE = 0.04
POINTS_AS_CASH = 0.15   # share of the big spenders' sales partly paid with points
COUPON_USED = 0.8       # chance a shopper with a usable coupon uses it
REDEEM_PER_MONTH = 0.15  # chance a shopper tries to redeem a reward in a month
CLAIMED = {"coupon_pack": 0.4, "birthday_gift": 0.8}  # share of grants claimed, by kind


@dataclass(frozen=True)
class Shopper:
    member_id: int
    store_code: str
    profile: Profile


@dataclass
class WalletCoupon:
    code: str
    kind: str
    threshold: Decimal
    valid_until: datetime


def _surnames() -> tuple[list[str], list[int]]:
    pairs = re.findall(r"(\D+?)(\d+)", SURNAMES.replace(" ", ""))
    return [name for name, _ in pairs], [int(weight) for _, weight in pairs]


class Year:
    """Plays the year from `start` (a Beijing midnight) up to `now`. Events wait in a heap
    by time; the nightly jobs run between one day's events and the next."""

    def __init__(self, *, start: datetime, now: datetime, scale: float = 1.0, seed: int = 2026,
                 report: Callable[[str], None] = print):
        self.start, self.now, self.scale = start, now, scale
        self.rng = random.Random(seed)
        self.report = report
        self.queue: list = []
        self.seq = 0
        self.month = Counter()
        self.total = Counter()
        self.wallet: dict[int, list[WalletCoupon]] = defaultdict(list)
        self.limited: set[tuple[int, int]] = set()  # (member, reward) at its per-member limit
        self.discounted: set[int] = set()  # members who may hold a member price
        self.orders = 0
        self.goods = 0  # goods redeemed
        self.tz = programme_tz()
        self.surnames = _surnames()
        self.points_per_yuan = PointsSettings.load().points_per_yuan_value

    # --- scheduling --------------------------------------------------------------------------

    def n(self, count: int) -> int:
        return max(1, round(count * self.scale))

    def at(self, when: datetime, action: Callable, *args) -> None:
        if when < self.now:
            self.seq += 1
            heapq.heappush(self.queue, (when, self.seq, action, args))

    def shop_time(self, day: int) -> datetime:
        """A moment in opening hours on the year's day `day` (0 = the first)."""
        minutes = self.rng.randint(OPEN_HOUR * 60, CLOSE_HOUR * 60 - 1)
        return self.start + day * DAY + timedelta(minutes=minutes)

    def day_of(self, moment: datetime) -> int:
        return (moment - self.start) // DAY

    @property
    def days(self) -> int:
        return (self.now - self.start) // DAY + 1

    # --- the year ----------------------------------------------------------------------------

    def run(self) -> Counter:
        self.cast()
        night = self.start + DAY
        month_started = time.perf_counter()
        while True:
            limit = min(night, self.now)
            while self.queue and self.queue[0][0] < limit:
                when, _seq, action, args = heapq.heappop(self.queue)
                try:
                    with transaction.atomic():  # a refusal takes back the whole visit
                        action(when, *args)
                except LoyaltyError:
                    self.month["refused"] += 1  # e.g. a reward sold out: the shopper leaves
            if night > self.now:
                break
            self.nightly(night)
            if night.astimezone(self.tz).day == 1:
                self.month_line(night - DAY, month_started)
                month_started = time.perf_counter()
            night += DAY
        self.month_line(self.now, month_started)
        return self.total

    def month_line(self, moment: datetime, started: float) -> None:
        m = self.month
        self.report(
            f"    {moment.astimezone(self.tz):%Y-%m}  sales {m['sales']:>3}  returns "
            f"{m['returns']:>2}  new members {m['registrations']:>2}  check-ins "
            f"{m['checkins']:>2}  rewards {m['redemptions']:>2}  benefits claimed "
            f"{m['claims']:>2}  coupons used {m['coupons']:>2}  paid plans {m['paid']:>2}"
            f"  {time.perf_counter() - started:5.1f} s")
        self.total.update(m)
        self.month = Counter()

    def nightly(self, night: datetime) -> None:
        """The beat schedule's nightly jobs at their minutes past midnight (Beijing), in its
        order. Jobs whose timing changes what members get run every night: lapse, decay
        (a day not run is not caught up), tier re-evaluation, unlock (before points can be
        spent). The sweeps that only close what has already ended — expiry of points,
        grants, coupons and holds — and the grant job run on Mondays and on the 1st; their
        outcome is the same, dated up to six days later. The liability rollup and the
        periodic recalculation run on the 1st."""
        local = night.astimezone(self.tz)
        weekly = local.isoweekday() == 1 or local.day == 1
        for minutes, job, every_night in (
                (5, paid_lapse_due, True), (10, points_expire_due, False),
                (15, growth_decay_due, True), (20, tier_reevaluate_due, True),
                (25, benefit_grants_expire_due, False), (30, benefit_grants_issue_due, False),
                (45, points_unlock_due, True), (50, points_holds_expire_due, False),
                (65, coupons_expire_due, False)):
            if every_night or weekly:
                job(now=night + timedelta(minutes=minutes))
        if weekly:
            self.plan_claims(night + timedelta(minutes=30))
        if local.day == 1:
            tier_recalculate_if_due(now=night + timedelta(minutes=40))
            points_liability_rollup(now=night + timedelta(minutes=65))

    # --- who does what -----------------------------------------------------------------------

    def cast(self) -> None:
        pool = list(Member.objects.filter(status=Member.Status.ACTIVE, created_at__lt=self.start)
                    .order_by("pk").values_list("pk", "home_store__code"))
        self.rng.shuffle(pool)
        stores = list(Store.objects.filter(kind=Store.Kind.PHYSICAL, is_active=True)
                      .order_by("code").values_list("code", "region"))
        self.stores = stores
        self.online = Store.objects.filter(kind=Store.Kind.ONLINE).values_list(
            "code", flat=True).first() or stores[0][0]
        self.rewards = list(Reward.objects.filter(is_active=True).select_related(
            "coupon_template").order_by("points_cost"))
        self.plans = {p.code: p for p in PaidPlan.objects.filter(is_active=True)}

        def shopper(profile: Profile) -> Shopper:
            member_id, home = pool.pop()
            store = home if home and self.rng.random() < 0.7 else self.online
            return Shopper(member_id, store, profile)

        shoppers = []
        for profile in PROFILES.values():
            for _ in range(self.n(profile.count)):
                shoppers.append(s := shopper(profile))
                for day in sorted(self.rng.randrange(self.days)
                                  for _ in range(self.rng.randint(*profile.sales))):
                    self.at(self.shop_time(day), self.sale, s)
        for _ in range(self.n(EARLY_SILVER)):
            s = shopper(Profile(1, (1, 1), (2300, 2700), discount=True))
            shoppers.append(s)
            self.at(self.shop_time(self.rng.randrange(7)), self.sale, s)
            small = Shopper(s.member_id, s.store_code, Profile(1, (0, 2), (60, 300), True))
            for _ in range(self.rng.randint(0, 2)):
                self.at(self.shop_time(self.rng.randrange(30, self.days)), self.sale, small)
        self.discounted.update(s.member_id for s in shoppers if s.profile.discount)

        # The admin's cost-per-tier page opens on the current month: a few sales by the big
        # spenders in the hours before now, so it is not empty on the 1st.
        local_now = self.now.astimezone(self.tz)
        month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        since = max(month_start, self.now - timedelta(hours=36))
        for s in shoppers[:3]:
            self.at(since + (self.now - since) * self.rng.uniform(0.2, 0.95), self.sale, s)

        for n in range(self.n(NEW_MEMBERS)):
            self.at(self.shop_time(self.rng.randrange(self.days)), self.register, n)
        for s in self.rng.sample(shoppers, min(len(shoppers), self.n(CHECKING_IN))):
            for day in self.rng.sample(range(self.days), self.rng.randint(1, 3)):
                self.at(self.shop_time(day), self.checkin, s.member_id)

        regulars = [s for s in shoppers if s.profile in (PROFILES["regular"], PROFILES["silver"])]
        buyers = self.rng.sample(regulars, min(len(regulars),
                                               self.n(ANNUAL_BUYERS) + self.n(QUARTERLY_BUYERS)))
        for i, s in enumerate(buyers):
            if i < self.n(ANNUAL_BUYERS):
                early = i < max(1, self.n(ANNUAL_BUYERS) // 4)  # up for renewal this year
                day = self.rng.randrange(20) if early else self.rng.randrange(self.days)
                self.at(self.shop_time(day), self.buy_plan, s.member_id, "annual",
                        1 if i % 3 else 0)
            else:
                day = self.rng.randrange(max(1, self.days - 120))
                # two in three renew every quarter, the others lapse after one or two
                renewals = 4 if i % 3 else self.rng.randint(0, 1)
                self.at(self.shop_time(day), self.buy_plan, s.member_id, "quarterly", renewals)
            self.discounted.add(s.member_id)

        first_month = self.start
        while first_month < self.now:
            for s in shoppers:
                if self.rng.random() < REDEEM_PER_MONTH:
                    day = self.day_of(first_month) + self.rng.randrange(30)
                    self.at(self.shop_time(day), self.redeem, s.member_id, s.store_code)
            first_month += 30 * DAY

    # --- events ------------------------------------------------------------------------------

    def sale(self, when: datetime, shopper: Shopper) -> None:
        rng = self.rng
        self.orders += 1
        order_no = f"DEMO{self.orders:06d}"
        target = Decimal(rng.randint(*shopper.profile.basket))
        count = rng.choice((1, 1, 2, 2, 3))
        rate = Decimal(1)
        if shopper.member_id in self.discounted:
            rate = member_discount_rate(member_id=shopper.member_id, now=when).value
        lines: list[dict] = []
        total = ZERO
        # lines until the basket comes near the shopper's usual spend (five at most)
        while len(lines) < 5 and (len(lines) < count or total < target * Decimal("0.9")):
            category, prefix, low, high = rng.choice(CATEGORIES)
            unit = Decimal(rng.randint(low // 10 + 1, high // 10 + 1) * 10 - 1)
            share = max(target - total, unit) / max(1, count - len(lines))
            quantity = max(1, min(5, round(share / unit)))
            gross = unit * quantity
            total += gross
            lines.append({"line_no": len(lines) + 1, "category": category,
                          "sku": f"{prefix}-{rng.randint(1, 300):05d}", "quantity": quantity,
                          "gross_amount": gross,
                          "tier_discount": (gross * (1 - rate)).quantize(CENT, ROUND_HALF_UP)})
        self.use_coupon(when, shopper, order_no, lines)
        hold = self.points_as_cash(when, shopper, order_no, lines)
        if hold is not None:  # the payment the sale names, so a return gives the points back
            points_hold_capture(hold_id=hold.pk, points=hold.points, now=when)
        intake.record_sale(sale=SaleInput(
            store_code=shopper.store_code, order_no=order_no, member_id=shopper.member_id,
            ordered_at=when, lines=tuple(LineInput(**line) for line in lines)),
            payment=PaymentRef(hold_id=hold.pk) if hold is not None else None, now=when)
        self.month["sales"] += 1
        if rng.random() < RETURN_RATE:
            self.at(when + rng.randint(1, 5) * DAY + timedelta(minutes=rng.randint(0, 120)),
                    self.give_back, shopper.store_code, order_no)

    @staticmethod
    def _payable(line: dict) -> Decimal:
        return (line["gross_amount"] - line["tier_discount"] - line.get("coupon_discount", ZERO)
                - line.get("points_cash", ZERO))

    def use_coupon(self, when: datetime, shopper: Shopper, order_no: str,
                   lines: list[dict]) -> None:
        """The shopper's first usable coupon, if they choose to use one: a spend-and-save
        coupon on a basket over its threshold, a free-shipping one online."""
        online = shopper.store_code == self.online
        subtotal = sum((self._payable(line) for line in lines), ZERO)
        wallet = self.wallet.get(shopper.member_id, [])
        for coupon in list(wallet):
            if coupon.valid_until <= when:
                wallet.remove(coupon)
                continue
            if coupon.kind == "free_shipping" and not online:
                continue
            if coupon.kind == "spend_save" and subtotal < coupon.threshold:
                continue
            if self.rng.random() >= COUPON_USED:
                return
            basket = Basket(lines=tuple(BasketLine(sku=line["sku"], quantity=line["quantity"],
                                                   amount=self._payable(line),
                                                   category=line["category"])
                                        for line in lines),
                            shipping_fee=SHIPPING_FEE if online else ZERO)
            used = coupon_redeem(code=coupon.code, member_id=shopper.member_id, basket=basket,
                                 order_no=order_no, now=when)
            wallet.remove(coupon)
            if coupon.kind != "free_shipping":  # shipping is not an order line
                line = max(lines, key=self._payable)
                line["coupon_discount"] = min(used.discount, self._payable(line))
            self.month["coupons"] += 1
            return

    def points_as_cash(self, when: datetime, shopper: Shopper, order_no: str,
                       lines: list[dict]):
        """Now and then a big spender pays part of the largest line with points: held at
        checkout, captured when the sale is paid; the sale names the captured hold."""
        if shopper.profile.basket[0] < 1000 or self.rng.random() >= POINTS_AS_CASH:
            return None
        available = (PointsAccount.objects.filter(member_id=shopper.member_id)
                     .values_list("available", flat=True).first() or 0)
        line = max(lines, key=self._payable)
        cash = min(Decimal(available // self.points_per_yuan),
                   (self._payable(line) / 2).quantize(Decimal(1), ROUND_HALF_UP))
        if cash < 5:
            return None
        held = points_hold(member_id=shopper.member_id, points=int(cash) * self.points_per_yuan,
                           reference=order_no, now=when).hold
        line["points_cash"] = cash
        return held

    def give_back(self, when: datetime, store_code: str, order_no: str) -> None:
        intake.record_return(ret=ReturnInput(
            store_code=store_code, order_no=f"{order_no}-R", sale_order_no=order_no,
            ordered_at=when, lines=(ReturnLineInput(line_no=1, quantity=1),)), now=when)
        self.month["returns"] += 1

    def register(self, when: datetime, n: int) -> None:
        rng = self.rng
        surnames, weights = self.surnames
        gender = rng.choice(("female", "female", "male", "unknown"))
        given = GIVEN_MALE if gender == "male" else GIVEN_FEMALE
        code, region = rng.choice(self.stores)
        member = intake.register_member(data=MemberInput(
            mobile=f"192{n:08d}",
            name=rng.choices(surnames, weights)[0] + "".join(rng.choices(given, k=2)),
            gender=gender, birthday=(when - timedelta(days=rng.randint(20 * 365, 50 * 365))).date(),
            region=region, home_store_code=code,
            source_channel=rng.choice(("store", "mini_program", "app")),
            external_id=f"demo-{n}", marketing_consent=rng.random() < 0.7,
            consent_source="demo"), now=when).member
        self.month["registrations"] += 1
        if rng.random() < 0.6:
            shopper = Shopper(member.pk, code, PROFILES["regular"])
            for _ in range(rng.randint(1, 3)):
                self.at(when + rng.randint(0, 60) * DAY + timedelta(minutes=rng.randint(5, 90)),
                        self.sale, shopper)
            if rng.random() < 0.5:
                self.at(when + rng.randint(20, 90) * DAY, self.redeem, member.pk, code)

    def checkin(self, when: datetime, member_id: int) -> None:
        intake.record_activity(data=ActivityInput(
            member_id=member_id, kind=ActivityKind.CHECKIN,
            source_key=f"demo-checkin-{member_id}-{when:%Y%m%d}", occurred_at=when), now=when)
        self.month["checkins"] += 1

    def redeem(self, when: datetime, member_id: int, store_code: str) -> None:
        """A reward the member can afford, if any: coupons go to their wallet, goods are
        picked up at their store or shipped, and now and then cancelled (points back)."""
        available = (PointsAccount.objects.filter(member_id=member_id)
                     .values_list("available", flat=True).first() or 0)
        choices = [r for r in self.rewards if r.points_cost <= available
                   and (member_id, r.pk) not in self.limited]
        if not choices:
            return
        reward = self.rng.choice(choices)
        pickup = reward.kind == "goods" and store_code != self.online and self.rng.random() < 0.5
        redemption = reward_redeem(
            member_id=member_id, reward_id=reward.pk,
            source_key=f"demo-{member_id}-{int(when.timestamp())}",
            fulfilment="pickup" if pickup else None, store_code=store_code if pickup else None,
            now=when)
        if reward.per_member_limit == 1:
            self.limited.add((member_id, reward.pk))
        self.month["redemptions"] += 1
        if redemption.coupon is not None:
            self.keep(member_id, redemption.coupon)
            return
        self.goods += 1
        if self.goods % 10 == 3:  # one in ten is cancelled before it ships: points back
            self.at(when + DAY, self.cancel, redemption.pk)
        else:
            first = "ready" if pickup else "shipped"
            self.at(when + self.rng.randint(1, 3) * DAY, self.advance, redemption.pk, first)
            self.at(when + self.rng.randint(4, 8) * DAY, self.advance, redemption.pk, "delivered")

    def advance(self, when: datetime, redemption_id: int, state: str) -> None:
        tracking = f"SF{redemption_id:010d}" if state == "shipped" else ""
        redemption_advance(redemption_id=redemption_id, state=state, tracking_no=tracking,
                           now=when)

    def cancel(self, when: datetime, redemption_id: int) -> None:
        redemption_cancel(redemption_id=redemption_id, reason="会员取消兑换", now=when)

    def keep(self, member_id: int, coupon: Coupon) -> None:
        template = coupon.template
        self.wallet[member_id].append(WalletCoupon(coupon.code, template.kind,
                                                   template.threshold, coupon.valid_until))

    def buy_plan(self, when: datetime, member_id: int, plan_code: str, renewals: int) -> None:
        """A purchase of a plan. `renewals` more follow, each around the end of the period
        (some a few days after it: the member returns within the grace days); a buyer with
        none left lets the plan lapse, and their growth decays."""
        plan = self.plans[plan_code]
        self.seq += 1
        outcome = paid_purchase(member_id=member_id, plan_code=plan_code,
                                purchase_id=f"demo-paid-{self.seq}", amount=plan.price,
                                channel="api", now=when)
        self.month["paid"] += 1
        if renewals:
            day = self.day_of(outcome.membership.ends_at) + self.rng.randint(-6, 4)
            self.at(max(when + DAY, self.shop_time(day)), self.buy_plan, member_id, plan_code,
                    renewals - 1)

    def plan_claims(self, granted_at: datetime) -> None:
        """Most members claim what tonight's grant job granted them, some day before it
        expires; a birthday gift is used at the counter on the same visit."""
        grants = (BenefitGrant.objects.filter(granted_at=granted_at, status="granted")
                  .values_list("pk", "member_id", "benefit__kind", "expires_at"))
        for grant_id, member_id, kind, expires_at in grants:
            if self.rng.random() >= CLAIMED.get(kind, 0.5):
                continue
            last = min(self.day_of(expires_at - timedelta(hours=CLOSE_HOUR)),
                       self.day_of(granted_at) + 20)
            day = self.rng.randint(self.day_of(granted_at), max(self.day_of(granted_at), last))
            when = max(self.shop_time(day), granted_at + timedelta(minutes=30))
            if when < expires_at:
                self.at(when, self.claim, grant_id, member_id, kind)

    def claim(self, when: datetime, grant_id: int, member_id: int, kind: str) -> None:
        benefit_grant_claim(member_id=member_id, grant_id=grant_id, now=when)
        self.month["claims"] += 1
        if kind == "coupon_pack":
            coupons = (Coupon.objects.filter(pk__in=GrantCoupon.objects.filter(grant_id=grant_id)
                                             .values("coupon_id")).select_related("template"))
            for coupon in coupons:
                self.keep(member_id, coupon)
        elif kind == "birthday_gift":
            benefit_grant_use(member_id=member_id, grant_id=grant_id, units=1,
                              source_key=f"demo-grant-use-{grant_id}", now=when)
