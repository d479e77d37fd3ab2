"""Bulk-load synthetic members, orders, tags and activity for scale tests.

    manage.py seed_members --members 1000000 --orders-per-member 5 --seed 1

Rows are generated in Python (in a background thread, a batch ahead) and streamed to
PostgreSQL with COPY in text format, batch by batch so memory stays bounded. Two
connections load: one the batch's members and orders, the other, once those are committed,
the lines, tags and activity that reference them, so the database uses both cores. Inside
an enclosing transaction (tests) everything goes through that transaction's connection.

Primary keys, member numbers and order numbers are assigned here and continue after what
the database already holds, so the command can run again on a loaded database without
clashes. The same seed, arguments and starting database give the same rows; the
three-year window ends at the current UTC midnight unless --until pins it.

Run it against a quiet database: ids are taken by moving the sequences past the rows
written here after each batch, not by locking the tables. A failed run leaves its last
batch or two incomplete (orders without their lines, say); seed a fresh database again.
"""

from __future__ import annotations

import hashlib
import json
import queue
import random
import re
import threading
import time
from bisect import bisect_right
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from itertools import accumulate

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from members.models import MARKETING_CHANNELS, Store, Tag, TagGroup
from members.regions import region_normalise

DAY = 86_400
WINDOW_DAYS = 3 * 365
NULL = "\\N"  # COPY text format
RETURN_RATE = 0.04  # share of sales that get a (partial or full) return
MOBILE_SPACE = 10**8  # the eight digits after the three-digit prefix
CHUNK_ROWS = 10_000  # rows per copy.write() call

# Mobile suffixes are a fixed bijection of the member id (two affine maps with a digit
# reversal in between), so members seeded by any run, with any seed, never share a number;
# only the prefix is random. The constants are coprime to 10**8 and must never change.
_MOBILE_A1, _MOBILE_B1 = 48_271_937, 21_714_003
_MOBILE_A2, _MOBILE_B2 = 69_069_001, 53_982_661

TABLES = {
    "members_member": ("id", "member_no", "mobile", "name", "gender", "birthday", "region",
                       "home_store_id", "source_channel", "referrer_id", "external_id",
                       "status", "marketing_consent", "marketing_consent_at",
                       "marketing_consent_source", "created_at", "updated_at"),
    "members_order": ("id", "store_id", "order_no", "kind", "member_id", "original_order_id",
                      "ordered_at", "gross_amount", "coupon_discount", "tier_discount",
                      "other_discount", "points_cash", "net_amount", "fingerprint",
                      "created_at"),
    "members_orderline": ("id", "order_id", "line_no", "sku", "category", "quantity",
                          "gross_amount", "coupon_discount", "tier_discount",
                          "other_discount", "points_cash", "net_amount", "original_line_id"),
    "members_membertag": ("id", "member_id", "tag_id", "added_at"),
    "members_memberactivity": ("id", "member_id", "kind", "name", "occurred_at", "payload",
                               "source_key", "recorded_at"),
}

# With two connections, the first loads a batch's members and orders; once they are
# committed the second loads the rows that reference them while the first goes on with the
# next batch, so both CPU cores work for the database.
FIRST_STAGE = ("members_member", "members_order")
SECOND_STAGE = ("members_orderline", "members_membertag", "members_memberactivity")

# --- reference data ------------------------------------------------------------------------

# Common surnames with rough relative frequencies (per mille), plus a few compound ones.
SURNAMES = (
    "王71 李70 张67 刘54 陈46 杨31 黄25 赵23 吴20 周19 徐15 孙15 马12 朱12 胡11 郭11 何10 "
    "林9 高9 罗9 郑8 梁8 谢7 宋6 唐6 许6 韩5 邓5 冯5 曹5 彭5 曾5 肖4 田4 董4 潘4 袁4 蔡3 "
    "蒋3 余3 于3 杜3 叶3 程3 魏3 苏3 吕3 丁3 任3 卢2 姚2 沈2 钟2 姜2 崔2 谭2 陆2 范2 汪2 "
    "廖2 石2 金2 韦2 贾2 夏2 付2 方2 邹2 熊2 白2 孟2 秦2 邱2 侯2 江2 尹2 薛2 闫2 段2 雷2 "
    "龙1 黎1 史1 陶1 贺1 毛1 郝1 顾1 龚1 邵1 万1 覃1 武1 钱1 戴1 严1 莫1 孔1 向1 常1 汤1 "
    "康1 易1 乔1 赖1 文1 欧阳1 司马1 上官1 诸葛1"
)
GIVEN_FEMALE = ("婷丽静敏燕艳娟霞芳玲秀英华慧巧美娜雪琳晶妍欣怡佳雨萱梓涵诗梦思颖悦瑶婉"
                "月雯璐倩薇岚晓洁莉蕾菲蓉嘉琪可馨紫若依晴")
GIVEN_MALE = ("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳昊轩睿博文"
              "志建国东海峰亮成晨子天毅然泽皓铭诚")

# (province, city, store-code prefix, weight): where members live and stores are.
REGIONS = (
    ("", "上海", "SH", 60), ("", "北京", "BJ", 55), ("广东", "广州", "GZ", 45),
    ("广东", "深圳", "SZ", 45), ("浙江", "杭州", "HZ", 35), ("四川", "成都", "CD", 35),
    ("江苏", "南京", "NJ", 25), ("江苏", "苏州", "SU", 25), ("湖北", "武汉", "WH", 25),
    ("", "重庆", "CQ", 25), ("陕西", "西安", "XA", 20), ("湖南", "长沙", "CS", 20),
    ("", "天津", "TJ", 18), ("河南", "郑州", "ZZ", 18), ("山东", "青岛", "QD", 15),
    ("山东", "济南", "JN", 12), ("福建", "厦门", "XM", 12), ("福建", "福州", "FZ", 10),
    ("浙江", "宁波", "NB", 12), ("浙江", "温州", "WZ", 8), ("江苏", "无锡", "WX", 10),
    ("广东", "东莞", "DG", 10), ("广东", "佛山", "FS", 10), ("安徽", "合肥", "HF", 12),
    ("辽宁", "沈阳", "SY", 10), ("辽宁", "大连", "DL", 8), ("云南", "昆明", "KM", 10),
    ("江西", "南昌", "NC", 8), ("河北", "石家庄", "SJ", 8), ("山西", "太原", "TY", 6),
    ("吉林", "长春", "CC", 6), ("黑龙江", "哈尔滨", "HE", 7), ("贵州", "贵阳", "GY", 6),
    ("广西壮族自治区", "南宁", "NN", 6), ("甘肃", "兰州", "LZ", 4), ("海南", "海口", "HK", 4),
    ("内蒙古自治区", "呼和浩特", "HH", 3), ("新疆维吾尔自治区", "乌鲁木齐", "UR", 3),
    ("宁夏回族自治区", "银川", "YC", 2), ("青海", "西宁", "XN", 2), ("西藏自治区", "拉萨", "LS", 1),
)
LANDMARKS = ("万达广场", "万象城", "大悦城", "银泰百货", "来福士", "太古里", "吾悦广场", "印象城",
             "龙湖天街", "恒隆广场", "凯德广场", "大融城", "宝龙广场", "新世界百货", "IFS国金中心")

# (category, SKU prefix, lowest and highest unit price in yuan)
CATEGORIES = (
    ("服装", "AP", 99, 899), ("鞋履", "FW", 199, 1299), ("箱包", "BG", 199, 2999),
    ("配饰", "AC", 39, 399), ("彩妆", "MU", 59, 699), ("护肤", "SK", 89, 1599),
    ("家居", "HM", 29, 599), ("食品", "FD", 9, 199), ("母婴", "BB", 39, 899),
    ("运动", "SP", 99, 1099),
)
SKUS_PER_CATEGORY = 300

TAG_GROUPS = (
    ("生命周期", ("新客", "活跃", "沉睡", "流失预警", "回流", "忠诚")),
    ("品类偏好", tuple(c[0] + "偏好" for c in CATEGORIES)),
    ("消费力", ("高客单", "中客单", "价格敏感", "大促型", "全价型")),
    ("互动", ("公众号粉丝", "社群成员", "直播观众", "高频签到", "爱分享", "爱评价")),
)

CUSTOM_EVENTS = ("直播间互动", "试用装申领", "问卷调查", "门店活动签到", "会员日抽奖")

DRAW_BITS = 10  # weighted tables have 2**10 entries: one getrandbits(10) picks from any of them
CHANCE = 1 << DRAW_BITS


def _table(pairs) -> tuple:
    """A lookup table for weighted draws: `table[getrandbits(10)]` is far cheaper than
    random.choices() or even int(random() * n) per value."""
    values, weights = zip(*pairs)
    cumulative = list(accumulate(weights))
    total = cumulative[-1]
    return tuple(values[bisect_right(cumulative, (i + 0.5) * total / CHANCE)]
                 for i in range(CHANCE))


def _chance(p: float) -> int:
    """The threshold for `getrandbits(10) < threshold` to be true with probability p."""
    return round(p * CHANCE)


GENDERS = _table((("female", 58), ("male", 37), ("unknown", 5)))
CHANNELS = _table((("store", 40), ("mini_program", 30), ("app", 8), ("web", 7),
                   ("referral", 5), ("import", 8), ("other", 2)))
STATUSES = _table((("active", 97), ("frozen", 2), ("closed", 1)))
TIER_PCT = _table(((0, 60), (3, 20), (5, 12), (8, 8)))  # per member
COUPON_PCT = _table(((0, 78), (5, 8), (10, 8), (15, 4), (20, 2)))  # per order
OTHER_PCT = _table(((0, 94), (2, 3), (5, 3)))
POINTS_PCT = _table(((0, 90), (3, 5), (5, 3), (10, 2)))
LINES_PER_ORDER = _table(((1, 55), (2, 30), (3, 15)))
QUANTITY = _table(((1, 70), (2, 20), (3, 7), (4, 2), (5, 1)))
TAGS_PER_MEMBER = _table(((0, 10), (1, 20), (2, 25), (3, 20), (4, 15), (5, 10)))
CHECKINS = _table(((0, 50), (1, 20), (2, 12), (3, 8), (5, 6), (10, 4)))
AGES = _table(tuple((age, 3 if 22 <= age <= 40 else 1) for age in range(16, 71)))
RATINGS = _table(((5, 55), (4, 25), (3, 10), (2, 4), (1, 6)))
EVENT_NAMES = _table(tuple((name, 1) for name in CUSTOM_EVENTS))

HAS_MOBILE, HAS_BIRTHDAY, HAS_HOME_STORE, HAS_REGION = (
    _chance(0.97), _chance(0.88), _chance(0.9), _chance(0.9))
LIVES_BY_HOME_STORE, CONSENTED = _chance(0.8), _chance(0.55)
AT_HOME_STORE, ONLINE_OTHERWISE, RETURNED, LINE_RETURNED = (
    _chance(0.7), _chance(0.6), _chance(RETURN_RATE), _chance(0.6))
PHONE_BOUND, FOLLOWED, PROFILE_COMPLETED, FAVOURITED, REVIEWED, SHARED, CUSTOM = (
    _chance(0.6), _chance(0.45), _chance(0.35), _chance(0.08), _chance(0.10), _chance(0.08),
    _chance(0.04))

MOBILE_PREFIXES = _table((
    (139, 8), (138, 8), (137, 5), (136, 5), (135, 6), (134, 3), (159, 5), (158, 5),
    (157, 2), (152, 3), (151, 4), (150, 4), (188, 4), (187, 4), (183, 3), (182, 3),
    (178, 2), (147, 1), (130, 3), (131, 3), (132, 3), (155, 2), (156, 3), (185, 3),
    (186, 5), (166, 2), (176, 2), (133, 3), (153, 3), (180, 3), (181, 3), (189, 4),
    (177, 2), (173, 2), (199, 2), (191, 1), (198, 1),
))
PREFIX_LIST = sorted(set(MOBILE_PREFIXES))


def mobile_suffix(member_id: int) -> int:
    """The eight digits after the prefix: a bijection of the member id below 10**8."""
    x = (_MOBILE_A1 * member_id + _MOBILE_B1) % MOBILE_SPACE
    x = int(f"{x:08d}"[::-1])
    return (_MOBILE_A2 * x + _MOBILE_B2) % MOBILE_SPACE


def region_text(province: str, city: str) -> str:
    """The region as stored (members.regions): COPY bypasses the model field."""
    if not province:
        return region_normalise(f"{city}市")  # a municipality
    return region_normalise(f"{province}{'' if province.endswith('区') else '省'}{city}市")


# --- the row generator (pure Python, no database) ---------------------------------------------


@dataclass
class Start:
    """Where this run begins: the first free value of every id and of the member number."""

    member_id: int
    member_no: int
    order_id: int
    line_id: int
    member_tag_id: int
    activity_id: int


@dataclass(frozen=True)
class SeedStore:
    id: int
    region: str


@dataclass
class Batch:
    members: int = 0
    rows: dict[str, list[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # generation time per table
    last_ids: dict[str, int] = field(default_factory=dict)


MONEY_CACHED = 1 << 18  # amounts below ¥2,621.44 are formatted once, up front


def money_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class RowGenerator:
    """Generates COPY text rows, batch after batch, from one seeded random stream.

    The reference pools (names, SKUs, tag sets) come from a fixed stream, so every run
    shares one catalogue; everything drawn per member comes from `seed`. The hot loops
    avoid datetime and Decimal: times are integer seconds since `day0` and amounts integer
    cents, turned into text by list lookups.
    """

    def __init__(self, *, seed: int, start: Start, until: date, orders_per_member: float,
                 stores: list[SeedStore], online_store_id: int, tag_ids: list[int],
                 taken_mobiles: set[int]):
        self.rng = random.Random(seed)
        catalogue = random.Random("seed_members catalogue v1")
        self.next = {
            "member": start.member_id, "order": start.order_id, "line": start.line_id,
            "member_tag": start.member_tag_id, "activity": start.activity_id,
        }
        self.first_member_id = start.member_id
        self.next_member_no = start.member_no
        self.taken_mobiles = taken_mobiles

        epoch_day = (until - date(1970, 1, 1)).days
        day0 = epoch_day - 75 * 365  # the oldest birthday
        self.end = (epoch_day - day0) * DAY  # seconds since day0
        self.begin = self.end - WINDOW_DAYS * DAY
        self.end_day = epoch_day - day0
        first = date(1970, 1, 1) + timedelta(days=day0)
        # Rows are never later than `end`; the margin covers the recorded_at delays.
        self.dates = [(first + timedelta(days=d)).isoformat() for d in range(self.end_day + 2)]
        self.times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
        self.money = [money_text(c) for c in range(MONEY_CACHED)]

        self.names = self._name_pools(catalogue)
        self.skus = self._sku_pool(catalogue)
        self.regions = _table((region_text(p, c), w) for p, c, _, w in REGIONS)
        self.stores = [stores[i * len(stores) // CHANCE] for i in range(CHANCE)]
        self.online_store_id = online_store_id
        self.tag_sets = self._tag_sets(catalogue, tag_ids)

        # Sales per member: geometric, with the mean that leaves room for the returns, so
        # sales and returns together average orders_per_member (many buy once or never).
        mean = orders_per_member / (1 + RETURN_RATE)
        self.sales_values, self.sales_cum = [0], [1.0]
        if mean > 0:
            p = 1 / (mean + 1)
            self.sales_values = list(range(int(mean * 25) + 25))
            self.sales_cum = list(accumulate(p * (1 - p) ** k for k in self.sales_values))

    # reference pools

    @staticmethod
    def _name_pools(rng: random.Random) -> dict[str, list[str]]:
        surnames, weights = zip(*((name, int(weight)) for name, weight
                                  in re.findall(r"(\D+?)(\d+)", SURNAMES.replace(" ", ""))))
        pools = {}
        for gender, chars in (("female", GIVEN_FEMALE), ("male", GIVEN_MALE),
                              ("unknown", GIVEN_FEMALE + GIVEN_MALE)):
            pools[gender] = [surname + "".join(rng.choices(chars, k=1 if rng.random() < 0.25 else 2))
                             for surname in rng.choices(surnames, weights, k=1 << 15)]
        return pools

    @staticmethod
    def _sku_pool(rng: random.Random) -> list[tuple[str, int]]:
        """("SKU<tab>category", unit price in cents), 2**16 draws: popular SKUs repeat."""
        catalogue = []
        for category, prefix, low, high in CATEGORIES:
            for n in range(1, SKUS_PER_CATEGORY + 1):
                yuan = rng.randint(low // 10 + 1, high // 10 + 1) * 10 - 1  # prices end in 9
                catalogue.append((f"{prefix}-{n:05d}\t{category}", yuan * 100))
        rng.shuffle(catalogue)
        weights = [1 / (rank + 20) for rank in range(len(catalogue))]
        return rng.choices(catalogue, weights, k=1 << 16)

    @staticmethod
    def _tag_sets(rng: random.Random, tag_ids: list[int]) -> list[tuple[int, ...]]:
        """2**13 pre-drawn sets of distinct tags; each member takes one."""
        if not tag_ids:
            return [()] * (1 << 13)
        return [tuple(rng.sample(tag_ids, min(len(tag_ids), TAGS_PER_MEMBER[rng.getrandbits(10)])))
                for _ in range(1 << 13)]

    # text

    def ts(self, t: int) -> str:
        return f"{self.dates[t // DAY]} {self.times[t % DAY]}"

    def _mobile(self, member_id: int, prefix: int) -> str:
        if member_id >= MOBILE_SPACE:
            raise CommandError("member ids from 10**8 on would repeat mobile numbers")
        suffix = mobile_suffix(member_id)
        national = prefix * MOBILE_SPACE + suffix
        if national in self.taken_mobiles:  # only numbers stored before this run can clash
            i = PREFIX_LIST.index(prefix)
            for step in range(1, len(PREFIX_LIST)):
                national = PREFIX_LIST[(i + step) % len(PREFIX_LIST)] * MOBILE_SPACE + suffix
                if national not in self.taken_mobiles:
                    break
            else:
                raise CommandError(f"no free mobile number for member {member_id}")
        return f"+86{national}"

    # the batch

    def batch(self, n: int) -> Batch:
        out = Batch(members=n)
        clock = time.perf_counter()

        def lap(table: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            out.seconds[table] = now - clock
            clock = now

        members = self._members(n, out)
        lap("members_member")
        self._orders(members, out)
        lap("members_order")  # and its lines
        self._member_tags(members, out)
        lap("members_membertag")
        self._activity(members, out)
        lap("members_memberactivity")
        for key, table in (("member", "members_member"), ("order", "members_order"),
                           ("line", "members_orderline"), ("member_tag", "members_membertag"),
                           ("activity", "members_memberactivity")):
            out.last_ids[table] = self.next[key] - 1
        return out

    def _members(self, n: int, out: Batch) -> list[tuple]:
        rnd, bits = self.rng.random, self.rng.getrandbits
        ts, end, begin, span = self.ts, self.end, self.begin, self.end - self.begin
        names, regions, stores, dates = self.names, self.regions, self.stores, self.dates
        end_day = self.end_day
        mid, no = self.next["member"], self.next_member_no
        rows, members = [], []
        for _ in range(n):
            gender = GENDERS[bits(10)]
            name = names[gender][bits(15)]
            created = begin + int(rnd() * span)
            updated = created + int(rnd() * (end - created))
            mobile = self._mobile(mid, MOBILE_PREFIXES[bits(10)]) if bits(10) < HAS_MOBILE else NULL
            if bits(10) < HAS_BIRTHDAY:
                birthday = dates[end_day - AGES[bits(10)] * 365 - int(rnd() * 365)]
            else:
                birthday = NULL
            if bits(10) < HAS_HOME_STORE:
                store = stores[bits(10)]
                home = store.id
                region = store.region if bits(10) < LIVES_BY_HOME_STORE else regions[bits(10)]
            else:
                home, region = None, regions[bits(10)] if bits(10) < HAS_REGION else ""
            channel = CHANNELS[bits(10)]
            referrer = None
            if channel == "referral" and mid > self.first_member_id:
                # an earlier member of this run: ids below it may have gaps
                referrer = self.first_member_id + int(rnd() * (mid - self.first_member_id))
            member_no = f"{no:010d}"
            external = f"mp:{member_no}" if channel == "mini_program" else NULL
            if bits(10) < CONSENTED:
                consent = f"t\t{ts(created + bits(9))}\tregistration"
            else:
                consent = f"f\t{NULL}\t"
            rows.append(
                f"{mid}\t{member_no}\t{mobile}\t{name}\t{gender}\t{birthday}\t{region}\t"
                f"{NULL if home is None else home}\t{channel}\t"
                f"{NULL if referrer is None else referrer}\t{external}\t{STATUSES[bits(10)]}\t"
                f"{consent}\t{ts(created)}\t{ts(updated)}\n"
            )
            members.append((mid, created, home, TIER_PCT[bits(10)], mobile != NULL, channel,
                            referrer))
            mid += 1
            no += 1
        self.next["member"], self.next_member_no = mid, no
        out.rows["members_member"] = rows
        return members

    def _orders(self, members: list[tuple], out: Batch) -> None:
        """Sales, and for a few of them a return; order totals are the sums of the lines."""
        rnd, bits = self.rng.random, self.rng.getrandbits
        end, dates, times, M = self.end, self.dates, self.times, self.money
        skus, stores, online = self.skus, self.stores, self.online_store_id
        sha256 = hashlib.sha256
        oid, lid = self.next["order"], self.next["line"]
        orders, lines = [], []
        counts = self.rng.choices(self.sales_values, cum_weights=self.sales_cum, k=len(members))
        for (mid, created, home, tier, *_), count in zip(members, counts):
            span = end - created
            for at in sorted([created + int(rnd() * span) for _ in range(count)]):
                if home is not None and bits(10) < AT_HOME_STORE:
                    store = home
                else:
                    store = online if bits(10) < ONLINE_OTHERWISE else stores[bits(10)].id
                coupon_pct, other_pct, points_pct = (
                    COUPON_PCT[bits(10)], OTHER_PCT[bits(10)], POINTS_PCT[bits(10)])
                returned = bits(10) < RETURNED
                sold = []
                sale_id = oid
                oid += 1
                tg = tc = tt = to = tp = tn = 0
                for line_no in range(1, LINES_PER_ORDER[bits(10)] + 1):
                    sku, unit = skus[bits(16)]
                    qty = QUANTITY[bits(10)]
                    g = unit * qty
                    t = g * tier // 100
                    c = g * coupon_pct // 100
                    o = g * other_pct // 100
                    p = (g - t - c - o) * points_pct // 100
                    net = g - t - c - o - p
                    lines.append(
                        f"{lid}\t{sale_id}\t{line_no}\t{sku}\t{qty}\t{g // 100}.00\t"
                        f"{M[c] if c < MONEY_CACHED else money_text(c)}\t"
                        f"{M[t] if t < MONEY_CACHED else money_text(t)}\t"
                        f"{M[o] if o < MONEY_CACHED else money_text(o)}\t"
                        f"{M[p] if p < MONEY_CACHED else money_text(p)}\t"
                        f"{M[net] if net < MONEY_CACHED else money_text(net)}\t{NULL}\n")
                    if returned:
                        sold.append((lid, line_no, sku, qty, g, c, t, o, p, net))
                    lid += 1
                    tg += g
                    tc += c
                    tt += t
                    to += o
                    tp += p
                    tn += net
                order_no = f"SO{sale_id:012d}"
                recorded = at + bits(8)
                orders.append(
                    f"{sale_id}\t{store}\t{order_no}\tsale\t{mid}\t{NULL}\t"
                    f"{dates[at // DAY]} {times[at % DAY]}\t"
                    f"{M[tg] if tg < MONEY_CACHED else money_text(tg)}\t"
                    f"{M[tc] if tc < MONEY_CACHED else money_text(tc)}\t"
                    f"{M[tt] if tt < MONEY_CACHED else money_text(tt)}\t"
                    f"{M[to] if to < MONEY_CACHED else money_text(to)}\t"
                    f"{M[tp] if tp < MONEY_CACHED else money_text(tp)}\t"
                    f"{M[tn] if tn < MONEY_CACHED else money_text(tn)}\t"
                    f"{sha256(order_no.encode()).hexdigest()}\t"
                    f"{dates[recorded // DAY]} {times[recorded % DAY]}\n")
                if not returned:
                    continue
                # A return of some of the sale's lines within 30 days, never more than was
                # sold: part of a line gets each amount's share rounded half up (which cannot
                # exceed the whole), all of it exactly what it paid. Line numbers repeat the
                # sale's, as the order service does.
                ret_at = at + 1 + int(rnd() * (min(at + 30 * DAY, end) - at - 1))
                ret_id = oid
                oid += 1
                picked = [line for line in sold if bits(10) < LINE_RETURNED] or sold[:1]
                tg = tc = tt = to = tp = tn = 0
                for orig_id, line_no, sku, qty, g, c, t, o, p, net in picked:
                    q = 1 + int(rnd() * qty)
                    if q < qty:
                        c, t, o, p, net = [(x * q * 2 + qty) // (2 * qty) for x in (c, t, o, p, net)]
                        g = net + c + t + o + p
                    lines.append(f"{lid}\t{ret_id}\t{line_no}\t{sku}\t{q}\t{money_text(g)}\t"
                                 f"{money_text(c)}\t{money_text(t)}\t{money_text(o)}\t"
                                 f"{money_text(p)}\t{money_text(net)}\t{orig_id}\n")
                    lid += 1
                    tg += g
                    tc += c
                    tt += t
                    to += o
                    tp += p
                    tn += net
                order_no = f"RO{ret_id:012d}"
                orders.append(
                    f"{ret_id}\t{store}\t{order_no}\treturn\t{mid}\t{sale_id}\t{self.ts(ret_at)}\t"
                    f"{money_text(tg)}\t{money_text(tc)}\t{money_text(tt)}\t{money_text(to)}\t"
                    f"{money_text(tp)}\t{money_text(tn)}\t{sha256(order_no.encode()).hexdigest()}\t"
                    f"{self.ts(ret_at + bits(8))}\n")
        self.next["order"], self.next["line"] = oid, lid
        out.rows["members_order"] = orders
        out.rows["members_orderline"] = lines

    def _member_tags(self, members: list[tuple], out: Batch) -> None:
        rnd, bits = self.rng.random, self.rng.getrandbits
        end, dates, times, tag_sets = self.end, self.dates, self.times, self.tag_sets
        tid = self.next["member_tag"]
        rows = []
        for mid, created, *_ in members:
            for tag in tag_sets[bits(13)]:
                at = created + int(rnd() * (end - created))
                rows.append(f"{tid}\t{mid}\t{tag}\t{dates[at // DAY]} {times[at % DAY]}\n")
                tid += 1
        self.next["member_tag"] = tid
        out.rows["members_membertag"] = rows

    def _activity(self, members: list[tuple], out: Batch) -> None:
        """Registration for everyone, then a sprinkling of the other behaviours."""
        rnd, bits = self.rng.random, self.rng.getrandbits
        end, dates, times, stores = self.end, self.dates, self.times, self.stores
        aid = self.next["activity"]
        rows = []
        append = rows.append
        registered = {c: json.dumps({"channel": c}) for c in set(CHANNELS)}
        events = []  # (member, kind, time, payload, name) of one member

        for mid, created, home, _tier, has_mobile, channel, referrer in members:
            span = end - created
            events.append((mid, "registration", created, registered[channel], ""))
            if has_mobile and bits(10) < PHONE_BOUND:
                events.append((mid, "phone_bound", created + int(rnd() * min(span, 7 * DAY)), "{}", ""))
            if bits(10) < FOLLOWED:
                events.append((mid, "followed_account", created + int(rnd() * span), "{}", ""))
            if bits(10) < PROFILE_COMPLETED:
                events.append((mid, "profile_completed", created + int(rnd() * span), "{}", ""))
            for _ in range(CHECKINS[bits(10)]):
                events.append((mid, "checkin", created + int(rnd() * span), "{}", ""))
            if bits(10) < FAVOURITED:
                store = home if home is not None else stores[bits(10)].id
                events.append((mid, "store_favourited", created + int(rnd() * span),
                               f'{{"store_id": {store}}}', ""))
            if bits(10) < REVIEWED:
                events.append((mid, "review", created + int(rnd() * span),
                               f'{{"rating": {RATINGS[bits(10)]}}}', ""))
            if bits(10) < SHARED:
                events.append((mid, "share", created + int(rnd() * span), '{"to": "wechat"}', ""))
            if bits(10) < CUSTOM:
                events.append((mid, "custom", created + int(rnd() * span), "{}",
                               EVENT_NAMES[bits(10)]))
            if referrer is not None:
                events.append((referrer, "referral_converted", created,
                               f'{{"referred_member_id": {mid}}}', ""))
            for member_id, kind, at, payload, name in events:
                recorded = at + bits(6)
                append(f"{aid}\t{member_id}\t{kind}\t{name}\t{dates[at // DAY]} {times[at % DAY]}\t"
                       f"{payload}\tseed:{aid:012d}\t{dates[recorded // DAY]} {times[recorded % DAY]}\n")
                aid += 1
            events.clear()
        self.next["activity"] = aid
        out.rows["members_memberactivity"] = rows


# --- the command ------------------------------------------------------------------------------


class Command(BaseCommand):
    help = ("Bulk-load synthetic members with orders, returns, tags and activity (PostgreSQL "
            "COPY). Adds to what is there; the same seed, arguments and starting database "
            "give the same rows.")

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, required=True, help="how many members to add")
        parser.add_argument("--orders-per-member", type=float, default=5.0,
                            help="average orders (sales and returns) per member")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--stores", type=int, default=50, help="physical stores to spread over")
        parser.add_argument("--tags", type=int, default=24, help="tags to spread over")
        parser.add_argument("--batch", type=int, default=20_000, help="members per transaction")
        parser.add_argument("--until", type=date.fromisoformat, default=None,
                            help="end of the three-year window (YYYY-MM-DD, UTC midnight); "
                                 "default today")
        parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE at the end")

    def handle(self, *args, **opts):
        members, batch_size = opts["members"], opts["batch"]
        if members < 0 or batch_size < 1 or opts["orders_per_member"] < 0:
            raise CommandError("--members and --orders-per-member must not be negative, "
                               "--batch must be positive")
        if opts["stores"] < 1 or opts["tags"] < 0:
            raise CommandError("--stores must be at least 1, --tags not negative")
        until = opts["until"] or datetime.now(dt_timezone.utc).date()
        started = time.perf_counter()

        stores, online_id = self._ensure_stores(opts["stores"])
        tag_ids = self._ensure_tags(opts["tags"])
        start = self._start(members)
        generator = RowGenerator(
            seed=opts["seed"], start=start, until=until,
            orders_per_member=opts["orders_per_member"], stores=stores,
            online_store_id=online_id, tag_ids=tag_ids, taken_mobiles=self._taken_mobiles(),
        )
        self.stdout.write(
            f"seeding {members:,} members (~{opts['orders_per_member']:g} orders each) from "
            f"member id {start.member_id:,}, member number {start.member_no:010d}, "
            f"three years up to {until}"
        )

        generated, copied, rows = {}, {}, dict.fromkeys(TABLES, 0)
        sizes = [min(batch_size, members - done) for done in range(0, members, batch_size)]
        done = dict.fromkeys(("members", "members_order", "members_orderline"), 0)

        def loaded(batch: Batch) -> None:
            for table, seconds in batch.seconds.items():
                generated[table] = generated.get(table, 0.0) + seconds
            done["members"] += batch.members
            done["members_order"] += len(batch.rows["members_order"])
            done["members_orderline"] += len(batch.rows["members_orderline"])
            self.stdout.write(
                f"  {done['members']:>10,} members {done['members_order']:>11,} orders "
                f"{done['members_orderline']:>11,} lines  {time.perf_counter() - started:7.1f}s"
            )

        with closing(self._generated(generator, sizes)) as batches:
            if connection.in_atomic_block:
                # Inside the caller's transaction (a test, say) a second connection would
                # not see this one's rows: load everything here, batch by batch.
                for batch in batches:
                    self._load(batch, TABLES, copied, rows)
                    loaded(batch)
            else:
                self._load_in_two_stages(batches, copied, rows, loaded)

        clock = time.perf_counter()
        self._consents()
        copied["consents"] = time.perf_counter() - clock

        if not opts["no_analyze"]:
            clock = time.perf_counter()
            with connection.cursor() as cursor:
                for table in TABLES:
                    cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            copied["ANALYZE"] = time.perf_counter() - clock
        self._report(rows, generated, copied, time.perf_counter() - started)

    @staticmethod
    def _consents() -> None:
        """COPY bypasses the consent service: a seeded member's single flag becomes a grant
        on every channel with its time and source, and its first history row — as
        migration members 0017 did for the members of old. Members already holding a row
        for a channel (an earlier run) are left alone."""
        with connection.cursor() as cursor:
            cursor.execute(
                """WITH granted AS (
                       INSERT INTO members_memberconsent
                              (member_id, channel, granted, changed_at, source)
                       SELECT m.id, c.channel, true, m.marketing_consent_at,
                              m.marketing_consent_source
                       FROM members_member m CROSS JOIN unnest(%s::text[]) AS c(channel)
                       WHERE m.marketing_consent ORDER BY m.id, c.channel
                       ON CONFLICT (member_id, channel) DO NOTHING
                       RETURNING member_id, channel, changed_at, source)
                   INSERT INTO members_consentchange (member_id, channel, granted, at, source)
                   SELECT member_id, channel, true, changed_at, source FROM granted""",
                [list(MARKETING_CHANNELS)])

    @staticmethod
    def _generated(generator: RowGenerator, sizes: list[int]):
        """Yield the batches, generating the next one in a thread while the caller loads
        this one: the database does its share of the work meanwhile (psycopg releases the
        GIL while it waits on the socket), so the run takes about as long as the slower
        of the two rather than their sum. One thread, in order, so the rows stay the same."""
        ready: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()

        def hand_over(item) -> bool:
            """Queue an item unless the consumer has gone; False once it has."""
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for size in sizes:
                    if not hand_over(generator.batch(size)):
                        return
                hand_over(None)
            except BaseException as exc:  # re-raised in the loading thread
                hand_over(exc)

        worker = threading.Thread(target=produce, name="seed_members generator", daemon=True)
        worker.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            worker.join()

    # setup

    @staticmethod
    def _ensure_stores(count: int) -> tuple[list[SeedStore], int]:
        """The seeded physical stores (each code fixed by its position, so runs share them)
        and the online store; members and orders are spread over them."""
        rng = random.Random("seed_members stores v1")
        cities = _table((region, region[3]) for region in REGIONS)
        per_city: dict[str, int] = {}
        wanted = []
        for _ in range(count):
            province, city, prefix, _weight = cities[rng.getrandbits(DRAW_BITS)]
            n = per_city[prefix] = per_city.get(prefix, 0) + 1
            landmark = LANDMARKS[(n - 1) % len(LANDMARKS)]
            branch = "" if n <= len(LANDMARKS) else str((n - 1) // len(LANDMARKS) + 1)
            wanted.append(Store(code=f"{prefix}{n:03d}", name=f"{city}{landmark}{branch}店",
                                region=region_text(province, city)))
        codes = [s.code for s in wanted]
        existing = set(Store.objects.filter(code__in=codes).values_list("code", flat=True))
        Store.objects.bulk_create([s for s in wanted if s.code not in existing])
        by_code = {s.code: s for s in Store.objects.filter(code__in=codes)}
        stores = [SeedStore(by_code[code].pk, by_code[code].region) for code in codes]
        online, _ = Store.objects.get_or_create(
            code="ONLINE", defaults={"name": "线上商城 Online store", "kind": Store.Kind.ONLINE})
        return stores, online.pk

    @staticmethod
    def _ensure_tags(count: int) -> list[int]:
        """`count` tags spread over the tag groups, reused by later runs."""
        groups = [TagGroup.objects.get_or_create(name=name, defaults={"sort_order": i})[0]
                  for i, (name, _names) in enumerate(TAG_GROUPS)]
        ids = []
        for i in range(count):
            g, j = i % len(TAG_GROUPS), i // len(TAG_GROUPS)
            names = TAG_GROUPS[g][1]
            name = names[j % len(names)] + ("" if j < len(names) else f" {j // len(names) + 1}")
            tag, _ = Tag.objects.get_or_create(
                code=f"seed-{g + 1}-{j + 1}",
                defaults={"group": groups[g], "name": name, "kind": Tag.Kind.MANUAL})
            ids.append(tag.pk)
        return ids

    @staticmethod
    def _sequence(cursor, table: str) -> str:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        return cursor.fetchone()[0]

    def _start(self, members: int) -> Start:
        """The first free id per table (past both the rows and the sequence), and a block of
        member numbers reserved from members_member_no_seq."""
        first = {}
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(sql.SQL(
                    "SELECT (SELECT coalesce(max(id), 0) FROM {}), last_value, is_called FROM {}"
                ).format(sql.Identifier(table), sql.SQL(self._sequence(cursor, table))))
                max_id, last_value, is_called = cursor.fetchone()
                first[table] = max(max_id + 1, last_value + 1 if is_called else last_value)
            cursor.execute("SELECT nextval('members_member_no_seq')")
            (next_no,) = cursor.fetchone()
            # Numbers entered past the sequence (an import, say) must not be reused either.
            cursor.execute(r"SELECT max(member_no::bigint) FROM members_member "
                           r"WHERE member_no ~ '^\d{1,18}$'")
            (max_no,) = cursor.fetchone()
            member_no = max(next_no, (max_no or 0) + 1)
            if members:
                cursor.execute("SELECT setval('members_member_no_seq', %s)",
                               [member_no + members - 1])
        return Start(member_id=first["members_member"], member_no=member_no,
                     order_id=first["members_order"], line_id=first["members_orderline"],
                     member_tag_id=first["members_membertag"],
                     activity_id=first["members_memberactivity"])

    @staticmethod
    def _taken_mobiles() -> set[int]:
        """National numbers of the mainland mobiles already stored (closed members too)."""
        with connection.cursor() as cursor:
            cursor.execute(r"SELECT substr(mobile, 4)::bigint FROM members_member "
                           r"WHERE mobile ~ '^\+861\d{10}$'")
            return {number for (number,) in cursor}

    # loading

    def _load_in_two_stages(self, batches, copied, rows, loaded) -> None:
        """Load the first stage of each batch here and hand it to a thread with its own
        connection for the second stage (see FIRST_STAGE). A batch is `loaded` once both
        stages are committed; a failure in either stops both."""
        handoff: queue.Queue = queue.Queue(maxsize=1)
        failed: list[BaseException] = []

        def second_stage() -> None:
            try:
                while (batch := handoff.get()) is not None:
                    self._load(batch, SECOND_STAGE, copied, rows)
                    loaded(batch)
            except BaseException as exc:
                failed.append(exc)
                while handoff.get() is not None:  # keep the first stage from blocking
                    pass
            finally:
                connection.close()  # this thread's own connection

        worker = threading.Thread(target=second_stage, name="seed_members loader", daemon=True)
        worker.start()
        try:
            for batch in batches:
                if failed:
                    break
                self._load(batch, FIRST_STAGE, copied, rows)
                handoff.put(batch)
        finally:
            handoff.put(None)
            worker.join()
        if failed:
            raise failed[0]

    def _load(self, batch: Batch, tables, copied: dict[str, float], rows: dict[str, int]) -> None:
        """Some tables of one batch in one transaction, on this thread's connection; then
        their id sequences move past the rows."""
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # the psycopg cursor, which has copy()
            # Losing the last batches to a crash is fine: the run is redone anyway.
            cursor.execute("SET LOCAL synchronous_commit TO off")
            for table in tables:
                clock = time.perf_counter()
                self._copy(cursor, table, TABLES[table], batch.rows[table])
                copied[table] = copied.get(table, 0.0) + time.perf_counter() - clock
                rows[table] += len(batch.rows[table])
            self._advance_sequences(cursor, {t: batch.last_ids[t] for t in tables})

    @staticmethod
    def _copy(cursor, table: str, columns: tuple[str, ...], rows: list[str]) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with cursor.copy(statement) as copy:
            for i in range(0, len(rows), CHUNK_ROWS):
                copy.write("".join(rows[i:i + CHUNK_ROWS]))

    def _advance_sequences(self, cursor, last_ids: dict[str, int]) -> None:
        """Move each id sequence past the rows written, so ordinary inserts continue there.
        (setval is not transactional: a failed batch leaves a gap, never a clash.)"""
        for table, last_id in last_ids.items():
            seq = self._sequence(cursor, table)
            cursor.execute(sql.SQL(
                "SELECT setval(%s, greatest(%s, (SELECT last_value FROM {})))"
            ).format(sql.SQL(seq)), [seq, last_id])

    def _report(self, rows, generated, copied, total) -> None:
        """Per table: rows, seconds spent generating them (in the background thread) and
        loading them (COPY, wall clock)."""
        self.stdout.write("")
        self.stdout.write(f"{'table':<24}{'rows':>12}{'generate s':>12}{'copy s':>9}{'rows/s':>10}")
        for table in TABLES:
            copy = copied.get(table, 0.0)
            if table == "members_orderline":
                gen_text = "(orders)"  # generated together with their orders
            else:
                gen_text = f"{generated.get(table, 0.0):.1f}"
            rate = f"{rows[table] / copy:,.0f}" if copy else "-"
            self.stdout.write(f"{table:<24}{rows[table]:>12,}{gen_text:>12}{copy:>9.1f}{rate:>10}")
        if "ANALYZE" in copied:
            self.stdout.write(f"{'ANALYZE':<24}{'':>12}{'':>12}{copied['ANALYZE']:>9.1f}")
        self.stdout.write(f"total {sum(rows.values()):,} rows in {total:.1f}s "
                          f"(generation and the two loading connections overlap)")
