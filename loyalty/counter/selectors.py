"""Reads of the counter page: finding a member, the member card, a store's order, and the
day's figures of a store. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connection
from django.db.models import Q

from campaigns.models import CampaignGift
from core.clock import local_date, programme_tz
from core.phones import mask_mobile
from members.models import ContactChannel, Member, Order
from members.selectors.access import members_for_stores
from members.selectors.consent import member_consents
from members.selectors.members import is_exact_identifier, member_search_q
from points.models import Coupon
from points.selectors.ledger import ExpiringSoon, account_for, points_expiring_soon
from points.selectors.rewards import rewards_for_member
from tiers.models import BenefitGrant
from tiers.models.benefits import GrantStatus
from tiers.selectors.ladder import TierProgress, tier_progress

PICK_LIMIT = 20


@dataclass(frozen=True)
class Found:
    members: list[Member]
    exact: bool  # found by a full mobile or a member number: anyone, not only the stores'


def member_find(*, term: str, store_ids: list[int]) -> Found:
    """One box: a full mobile or a member number finds that member wherever they joined; the
    last four digits (or a name prefix) find only the members of the clerk's stores, at most
    a short pick list."""
    term = term.strip()
    if not term:
        return Found([], False)
    query = Member.objects.filter(member_search_q(term)).exclude(status=Member.Status.CLOSED)
    exact = is_exact_identifier(term)
    if not exact:
        query = members_for_stores(query, store_ids)
    members = list(query.order_by("-id")[:PICK_LIMIT])
    for member in members:
        member.masked_mobile = mask_mobile(member.mobile)  # the pick list never shows it whole
    return Found(members, exact)


@dataclass(frozen=True)
class MemberCard:
    member: Member
    masked_mobile: str
    progress: TierProgress
    available: int
    pending: int
    expiring: ExpiringSoon
    coupons: list[Coupon]
    grants: list[BenefitGrant]
    gifts: list[CampaignGift]
    rewards: list
    birthday_today: bool
    consents: list[tuple[str, str, bool]]  # channel, its name, agrees


def member_card(*, member_id: int, store_id: int, now: datetime) -> MemberCard:
    member = Member.objects.get(pk=member_id)
    account = account_for(member_id)
    today = local_date(now)
    coupons = list(Coupon.objects.filter(member_id=member_id, state=Coupon.State.ISSUED)
                   .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
                   .select_related("template").order_by("valid_until", "id")[:50])
    grants = list(BenefitGrant.objects.filter(member_id=member_id, status=GrantStatus.GRANTED,
                                              expires_at__gt=now)
                  .select_related("benefit").order_by("expires_at", "id"))
    gifts = list(CampaignGift.objects.filter(member_id=member_id, collected_at__isnull=True,
                                             collect_by__gte=today)
                 .filter(Q(store__isnull=True) | Q(store_id=store_id))
                 .order_by("collect_by", "id"))
    return MemberCard(
        member=member, masked_mobile=mask_mobile(member.mobile),
        progress=tier_progress(member_id, now), available=account.available,
        pending=account.pending, expiring=points_expiring_soon(member_id=member_id, now=now),
        coupons=coupons, grants=grants, gifts=gifts,
        rewards=list(rewards_for_member(member_id=member_id, now=now)[:20]),
        birthday_today=bool(member.birthday and (member.birthday.month, member.birthday.day)
                            == (today.month, today.day)),
        consents=[(channel, ContactChannel(channel).label, granted)
                  for channel, granted in member_consents(member_id).items()])


def store_sale(*, order_no: str, store_ids: list[int]) -> Order | None:
    """A sale of one of the clerk's stores by its order number; another store's is not found."""
    return (Order.objects.filter(order_no=order_no.strip(), kind=Order.Kind.SALE,
                                 store_id__in=store_ids)
            .select_related("store", "member").order_by("store_id").first())


def returnable_lines(order: Order) -> list[dict]:
    """The sale's lines with what is left to return (sold less what returns took back)."""
    lines = []
    for line in order.lines.order_by("line_no"):
        returned = sum(r.quantity for r in line.__class__.objects.filter(original_line=line))
        lines.append({"line": line, "left": line.quantity - returned})
    return lines


@dataclass(frozen=True)
class ClerkDay:
    user_id: int | None
    username: str
    registrations: int
    sales: int
    sales_amount: object
    points_issued: int
    points_redeemed: int
    coupons_used: int


END_OF_DAY_SQL = """
WITH figures AS (
    SELECT enrolled_by_id AS user_id, count(*) AS registrations, 0 AS sales,
           0::numeric AS sales_amount, 0::bigint AS issued, 0::bigint AS redeemed, 0 AS coupons
      FROM members_member
     WHERE home_store_id = %(store)s AND created_at >= %(start)s AND created_at < %(end)s
     GROUP BY enrolled_by_id
    UNION ALL
    SELECT actor_user_id, 0, count(*), sum(net_amount), 0, 0, 0
      FROM members_order
     WHERE store_id = %(store)s AND kind = 'sale'
       AND created_at >= %(start)s AND created_at < %(end)s
     GROUP BY actor_user_id
    UNION ALL
    SELECT actor_user_id, 0, 0, 0,
           sum(CASE WHEN kind = 'earn' THEN available_delta + pending_delta ELSE 0 END),
           sum(CASE WHEN kind IN ('spend', 'capture')
                    THEN -(available_delta + held_delta) ELSE 0 END), 0
      FROM points_pointsentry
     WHERE store_id = %(store)s AND created_at >= %(start)s AND created_at < %(end)s
       AND kind IN ('earn', 'spend', 'capture')
     GROUP BY actor_user_id
    UNION ALL
    SELECT actor_user_id, 0, 0, 0, 0, 0, count(*)
      FROM points_couponevent
     WHERE store_id = %(store)s AND kind = 'redeemed'
       AND created_at >= %(start)s AND created_at < %(end)s
     GROUP BY actor_user_id
)
SELECT f.user_id, coalesce(u.username, ''), sum(f.registrations)::int, sum(f.sales)::int,
       sum(f.sales_amount), sum(f.issued)::bigint, sum(f.redeemed)::bigint,
       sum(f.coupons)::int
  FROM figures f LEFT JOIN auth_user u ON u.id = f.user_id
 GROUP BY f.user_id, u.username
 ORDER BY u.username NULLS LAST
"""


def end_of_day(*, store_id: int, now: datetime) -> list[ClerkDay]:
    """The store's figures for today (Beijing calendar), one row per clerk: members
    registered with this store as home, sales recorded, points issued and redeemed, coupons
    used — four grouped scans over the day's rows, no loop over members."""
    day = local_date(now)
    start = datetime.combine(day, time.min, tzinfo=programme_tz())
    with connection.cursor() as cursor:
        cursor.execute(END_OF_DAY_SQL, {"store": store_id, "start": start,
                                        "end": start + timedelta(days=1)})
        return [ClerkDay(*row) for row in cursor.fetchall()]
