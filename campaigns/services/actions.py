"""What a campaign does for a chunk of members — one statement per action, never a query
per member, and each keyed by (campaign, occasion, member) so doing it again does nothing:
points under the ledger source key `campaign:<id>:<occasion>:<member>`, coupons under
`…:<member>:<action>:<n>`, gifts and messages under their UNIQUE constraints, tags by their
(member, tag) key. Called inside the chunk's transaction (campaigns.services.act)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

from core.clock import local_date
from members.models import Tag, TagChange
from members.services.tags import member_tags_add, member_tags_remove
from points.services.batch import CouponIssue, coupons_issue_many, points_credit_many

from ..models import ActionKind, Campaign, CampaignAction, ContactPolicy, MessageTemplate
from .contact import policy_params, refusal_sql, touch_locks, touch_timing
from .delivery import messages_deliver_soon

CAUSE = TagChange.Cause.CAMPAIGN


def points_key(campaign_id: int, occasion: str, member_id: int) -> str:
    return f"campaign:{campaign_id}:{occasion}:{member_id}"


def coupon_key(campaign_id: int, occasion: str, member_id: int, action_id: int, n: int) -> str:
    return f"campaign:{campaign_id}:{occasion}:{member_id}:{action_id}:{n}"


@dataclass
class Plan:
    """What each member of a chunk gets: per member, points and coupons (face values) by
    action; and the cost of it at the programme's value per point."""

    points: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    faces: dict[tuple[int, int], Decimal | None] = field(default_factory=dict)
    cost: dict[int, tuple[int, int, Decimal]] = field(default_factory=dict)


_PLAN_SQL = """
SELECT c.member_id, a.id, a.kind, COALESCE(a.points, 0), a.coupon_count,
       CASE WHEN a.kind = 'coupon' AND a.coupon_percent_of_average IS NOT NULL
                 AND t.face_value_min IS NOT NULL
            THEN LEAST(t.face_value_max, GREATEST(t.face_value_min,
                       round(COALESCE(s.average_spend, 0) * a.coupon_percent_of_average / 100)))
       END AS face,
       COALESCE(t.amount, t.max_discount, 0) AS template_value
FROM unnest(%s::bigint[], %s::bigint[]) AS c(member_id, variant_id)
JOIN campaigns_campaignaction a ON a.variant_id = c.variant_id
LEFT JOIN points_coupontemplate t ON t.id = a.coupon_template_id
LEFT JOIN members_memberstats s ON s.member_id = c.member_id
ORDER BY c.member_id, a.id
"""


def plan_chunk(members: list[int], variants: list[int], points_per_yuan: int) -> Plan:
    """Points, coupons and cost per member, coupon face values worked out in SQL (20% of
    the member's average order, rounded to a whole yuan within the template's bounds)."""
    plan = Plan()
    with connection.cursor() as cursor:
        cursor.execute(_PLAN_SQL, [members, variants])
        rows = cursor.fetchall()
    totals: dict[int, list] = {m: [0, 0, Decimal(0)] for m in members}
    for member_id, action_id, kind, points, count, face, template_value in rows:
        if kind == ActionKind.POINTS:
            plan.points[member_id] += points
            totals[member_id][0] += points
        elif kind == ActionKind.COUPON:
            plan.faces[(member_id, action_id)] = face
            totals[member_id][1] += count
            totals[member_id][2] += (face if face is not None else template_value) * count
    for member_id, (points, coupons, cost) in totals.items():
        plan.cost[member_id] = (points, coupons,
                                (cost + Decimal(points) / points_per_yuan).quantize(Decimal("0.01")))
    return plan


def apply_actions(campaign: Campaign, occasion: str, by_variant: dict[int, list[int]],
                  plan: Plan, now: datetime) -> None:
    """Every action of each variant for its members (all in the caller's transaction)."""
    actions = list(CampaignAction.objects.filter(variant_id__in=list(by_variant))
                   .select_related("coupon_template", "message_template").order_by("id"))
    campaign_tag = None
    for action in actions:
        members = by_variant[action.variant_id]
        if not members:
            continue
        if action.kind == ActionKind.POINTS:
            continue  # summed per member below: one ledger entry per member and occasion
        if action.kind == ActionKind.COUPON:
            issues = [CouponIssue(member_id=m, face_value=plan.faces.get((m, action.pk)),
                                  source_key=coupon_key(campaign.pk, occasion, m, action.pk, n))
                      for m in members for n in range(1, action.coupon_count + 1)]
            coupons_issue_many(template_id=action.coupon_template_id, issues=issues,
                               reason=f"campaign:{campaign.pk}", now=now)
        elif action.kind == ActionKind.GIFT:
            _gifts(campaign, occasion, action, members, now)
        elif action.kind == ActionKind.TAG_ADD:
            member_tags_add(tag_id=action.tag_id, member_ids=members, cause=CAUSE, now=now)
        elif action.kind == ActionKind.TAG_REMOVE:
            member_tags_remove(tag_id=action.tag_id, member_ids=members, cause=CAUSE, now=now)
        elif action.kind == ActionKind.MULTIPLIER:
            campaign_tag = campaign_tag or campaign_tag_get(campaign)
            member_tags_add(tag_id=campaign_tag.pk, member_ids=members, cause=CAUSE, now=now)
    credits = [(m, p, points_key(campaign.pk, occasion, m)) for m, p in plan.points.items() if p]
    if credits:
        points_credit_many(credits=credits, reason=f"campaign:{campaign.pk}", now=now)
    # messages last: they quote the points, coupons and gifts given above
    for action in actions:
        if action.kind == ActionKind.MESSAGE and by_variant[action.variant_id]:
            variant_actions = [a for a in actions if a.variant_id == action.variant_id]
            _messages(campaign, occasion, action, variant_actions,
                      by_variant[action.variant_id], now)


def campaign_tag_get(campaign: Campaign) -> Tag:
    """The system tag `campaign-<code>` that scopes the campaign's multiplier rule."""
    tag, _created = Tag.objects.get_or_create(
        code=campaign.tag_code,
        defaults={"name": f"活动 {campaign.name}"[:64], "kind": Tag.Kind.SYSTEM})
    return tag


def _gifts(campaign: Campaign, occasion: str, action: CampaignAction, members: list[int],
           now: datetime) -> None:
    collect_by = local_date(now) + timedelta(days=action.gift_days)
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO campaigns_campaigngift
                   (campaign_id, occasion, member_id, action_id, name, store_id, collect_by,
                    created_at)
               SELECT %s, %s, m.id, %s, %s, COALESCE(%s, m.home_store_id), %s, %s
               FROM members_member m WHERE m.id = ANY(%s) ORDER BY m.id
               ON CONFLICT (campaign_id, occasion, member_id, action_id) DO NOTHING""",
            [campaign.pk, occasion, action.pk, action.gift_name, action.gift_store_id,
             collect_by, now, members])


def _messages(campaign: Campaign, occasion: str, action: CampaignAction,
              variant_actions: list[CampaignAction], members: list[int], now: datetime) -> None:
    """One touch per member on the template's channel: queued, or refused with its reason
    under the contact policy (campaigns.services.contact), the cap reserved under the
    members' contact locks."""
    points = sum(a.points or 0 for a in variant_actions if a.kind == ActionKind.POINTS)
    coupon = next((a for a in variant_actions if a.kind == ActionKind.COUPON), None)
    gift = next((a for a in variant_actions if a.kind == ActionKind.GIFT), None)
    template = action.message_template
    policy = ContactPolicy.current()
    timing = touch_timing(policy, template.channel, template.kind, now, campaign.ends_at)
    if template.kind == MessageTemplate.Kind.MARKETING:
        touch_locks(members)
    params = {
        **policy_params(policy, template.channel, template.kind, timing, now),
        "template": template.pk, "campaign_name": campaign.name, "points": points or None,
        "campaign": campaign.pk, "occasion": occasion, "now": now, "due": timing.due_at,
        "coupon_action": coupon.pk if coupon else 0, "gift_action": gift.pk if gift else 0,
        "members": members}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO campaigns_message
                   (member_id, channel, template_id, variables, campaign_id, occasion, is_test,
                    state, kind, refusal, created_at, due_at, next_attempt_at)
               SELECT m.id, %(channel)s, %(template)s,
                      jsonb_strip_nulls(jsonb_build_object(
                          'name', m.name, 'member_no', m.member_no, 'campaign', %(campaign_name)s,
                          'points', %(points)s::int,
                          'coupon_value', COALESCE(c.face_value, t.amount)::text,
                          'coupon_valid_until',
                              to_char(c.valid_until AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
                          'gift', g.name, 'collect_by', to_char(g.collect_by, 'YYYY-MM-DD'))),
                      %(campaign)s, %(occasion)s, false,
                      CASE WHEN r.refusal IS NULL THEN 'queued' ELSE 'refused' END,
                      %(kind)s, COALESCE(r.refusal, ''), %(now)s, %(due)s,
                      CASE WHEN r.refusal IS NULL THEN %(due)s END
               FROM members_member m
               CROSS JOIN LATERAL (SELECT {refusal_sql("m")} AS refusal) r
               LEFT JOIN points_coupon c
                      ON c.source_key = 'campaign:' || %(campaign)s || ':' || %(occasion)s
                                        || ':' || m.id || ':' || %(coupon_action)s || ':1'
               LEFT JOIN points_coupontemplate t ON t.id = c.template_id
               LEFT JOIN campaigns_campaigngift g
                      ON g.campaign_id = %(campaign)s AND g.occasion = %(occasion)s
                     AND g.member_id = m.id AND g.action_id = %(gift_action)s
               WHERE m.id = ANY(%(members)s)
               ORDER BY m.id
               ON CONFLICT (campaign_id, occasion, member_id, channel) WHERE NOT is_test
               DO NOTHING""", params)
        queued = cursor.rowcount
    if queued:
        messages_deliver_soon()
