"""Who a campaign reaches at a moment, as one SQL condition over members_segmentfacts `f`,
and how a member is assigned: control group or a variant, from a hash of the campaign's
seed and the member id — the same answer in SQL and in Python, at every re-run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import local_date
from members.selectors.segments import segment_where

from ..models import AudienceFilter, Campaign, CampaignVariant

# md5 rather than hashtext: its value is fixed by its definition, not by a server version
BUCKET_SQL = "(('x' || substr(md5(%s || ':' || f.member_id), 1, 15))::bit(60)::bigint %% 100)"
ARM_SQL = "(('x' || substr(md5(%s || ':arm:' || f.member_id), 1, 15))::bit(60)::bigint %% %s)"


def _hash(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


def bucket_of(seed: int, member_id: int) -> int:
    """0–99: members below the control share are the control group."""
    return _hash(f"{seed}:{member_id}") % 100


@dataclass(frozen=True)
class Arms:
    """The variants as cumulative weight ranges: arm a goes to the variant with lo ≤ a < hi."""

    ids: list[int]
    lo: list[int]
    hi: list[int]

    @property
    def total(self) -> int:
        return self.hi[-1] if self.hi else 1


def arms_of(campaign: Campaign) -> Arms:
    ids, lo, hi, at = [], [], [], 0
    for variant in CampaignVariant.objects.filter(campaign=campaign).order_by("code", "id"):
        ids.append(variant.pk)
        lo.append(at)
        at += variant.weight
        hi.append(at)
    return Arms(ids, lo, hi)


def variant_of(seed: int, member_id: int, arms: Arms) -> int | None:
    """The variant a member outside the control group falls into (Python twin of the SQL)."""
    arm = _hash(f"{seed}:arm:{member_id}") % arms.total
    for vid, lo, hi in zip(arms.ids, arms.lo, arms.hi, strict=True):
        if lo <= arm < hi:
            return vid
    return None


def audience_where(campaign: Campaign, now: datetime) -> tuple[str, list]:
    """The audience at `now`: the segment (or every member not closed), the extra condition,
    less the excluded segments and members any campaign acted on in the last N days."""
    parts, params = ["f.status <> 'closed'"], []
    if campaign.segment_id:
        where, where_params = segment_where(campaign.segment.expression, now=now)
        parts.append(f"({where})")
        params += where_params
    today = local_date(now)
    if campaign.audience_filter == AudienceFilter.BIRTHDAY_MONTH:
        if today.day == 1:
            parts.append("f.birthday IS NOT NULL AND EXTRACT(MONTH FROM f.birthday) = %s")
            params.append(today.month)
        else:
            parts.append("false")
    elif campaign.audience_filter == AudienceFilter.PAID_ENDED:
        parts.append("EXISTS (SELECT 1 FROM tiers_paidmembership p WHERE p.member_id = "
                     "f.member_id AND p.ends_at <= %s AND p.ends_at > %s)")
        params += [now, now - timedelta(days=campaign.audience_days or 30)]
    elif campaign.audience_filter == AudienceFilter.AT_RISK_OR_ONE_TIME:
        parts.append("EXISTS (SELECT 1 FROM members_memberstats s WHERE s.member_id = "
                     "f.member_id AND (s.lifecycle IN ('at_risk', 'dormant') "
                     "OR s.order_count = 1))")
    for segment in campaign.exclude_segments.all():
        where, where_params = segment_where(segment.expression, now=now)
        parts.append(f"NOT ({where})")
        params += where_params
    if campaign.exclude_recent_days:
        parts.append("NOT EXISTS (SELECT 1 FROM campaigns_campaignmember x WHERE "
                     "x.member_id = f.member_id AND x.state = 'acted' AND x.acted_at >= %s)")
        params.append(now - timedelta(days=campaign.exclude_recent_days))
    return " AND ".join(parts), params


def assign_select(campaign: Campaign, *, occasion: str, run_id: int | None, where: str,
                  where_params: list, now: datetime) -> tuple[str, list]:
    """SELECT of the campaign-member rows for the members `where` picks: bucket, control
    or variant, state."""
    arms = arms_of(campaign)
    if not arms.ids:
        raise ValueError("a campaign needs a variant")
    seed = str(campaign.seed)
    control = campaign.control_percent
    sql = f"""
        SELECT %s, %s, f.member_id, %s,
               CASE WHEN h.bucket < %s THEN NULL
                    ELSE (SELECT v.id FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS
                          v(id, lo, hi) WHERE h.arm >= v.lo AND h.arm < v.hi) END,
               h.bucket, CASE WHEN h.bucket < %s THEN 'control' ELSE 'assigned' END, %s
        FROM members_segmentfacts f
        CROSS JOIN LATERAL (SELECT {BUCKET_SQL} AS bucket, {ARM_SQL} AS arm) h
        WHERE {where}
    """
    params = [campaign.pk, occasion, run_id, control, arms.ids, arms.lo, arms.hi, control, now,
              seed, seed, arms.total, *where_params]
    return sql, params


INSERT_MEMBERS = """
    WITH added AS (
        INSERT INTO campaigns_campaignmember
            (campaign_id, occasion, member_id, run_id, variant_id, bucket, state, assigned_at)
        {select}
        ORDER BY f.member_id
        ON CONFLICT (campaign_id, occasion, member_id) DO NOTHING
        RETURNING state
    )
    SELECT count(*), count(*) FILTER (WHERE state = 'control') FROM added
"""
