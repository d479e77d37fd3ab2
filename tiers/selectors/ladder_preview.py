"""Judging a ladder before publishing it (DESIGN §2.2): on the real member data, how many
members each tier would hold with the thresholds the operator proposes, and what it takes a
typical member to reach each tier.

A ladder whose top tiers hold single digits while its bottom holds 100k+ is badly designed;
so is one whose Gold needs ten years of a typical member's growth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from core.clock import resolve_now
from members.selectors.orders import member_has_purchased_sql

from ..models import Tier, TierSettings
from .ladder import spend_for_growth, tier_for_growth_sql

# Every member who is not closed, at the growth they hold now, and whether they have made a
# first purchase (members.selectors.orders). The highest tier whose proposed entry the member
# meets, by the ladder's own rule (tiers.selectors.ladder) over the proposed ladder.
_DISTRIBUTION_SQL = """
WITH ladder(id, rank, min_growth, requires_first_purchase, is_active) AS (
    SELECT *, TRUE FROM unnest(%(ids)s::bigint[], %(ranks)s::int[], %(mins)s::bigint[],
                               %(purchase)s::boolean[])
), standing AS (  -- members grouped by what places them: far fewer rows to place
    SELECT coalesce(a.growth, 0) AS growth, {bought} AS bought, count(*) AS members
    FROM members_member m
    LEFT JOIN tiers_growthaccount a ON a.member_id = m.id
    WHERE m.status <> 'closed'
    GROUP BY 1, 2
)
SELECT best.id, sum(standing.members)::bigint
FROM standing
LEFT JOIN LATERAL {best} best ON TRUE
GROUP BY best.id
""".format(bought=member_has_purchased_sql("m.id"),
           best=tier_for_growth_sql(growth="standing.growth", purchased="standing.bought",
                                    ladder="ladder"))

# A typical member's pace: the median growth per day since they joined, among members
# who have earned some growth.
_PACE_SQL = """
SELECT percentile_cont(0.5) WITHIN GROUP (
           ORDER BY a.growth / greatest(extract(epoch FROM %(now)s - m.created_at) / 86400, 1))
FROM tiers_growthaccount a JOIN members_member m ON m.id = a.member_id
WHERE a.growth > 0 AND m.status <> 'closed'
"""


@dataclass(frozen=True)
class TierPreview:
    tier: Tier
    min_growth: int | None       # as proposed
    members: int
    share: Decimal               # of all members who are not closed, 0–1
    spend_to_reach: Decimal | None  # CNY of net paid that earns the threshold (to the fen)
    days_to_reach: int | None    # at the typical member's pace


def ladder_preview(*, thresholds: dict[int, int | None] | None = None,
                   now: datetime | None = None) -> list[TierPreview]:
    """The active ladder with `thresholds` (tier id → proposed growth needed) in place of
    the published ones; nothing is written. Two statements over the members."""
    now = resolve_now(now)
    tiers = list(Tier.objects.filter(is_active=True).order_by("rank"))
    proposed = {t.pk: (thresholds or {}).get(t.pk, t.min_growth) for t in tiers}
    with connection.cursor() as cursor:
        cursor.execute(_DISTRIBUTION_SQL, {
            "ids": [t.pk for t in tiers], "ranks": [t.rank for t in tiers],
            "mins": [proposed[t.pk] for t in tiers],
            "purchase": [t.requires_first_purchase for t in tiers]})
        counts = dict(cursor.fetchall())
        cursor.execute(_PACE_SQL, {"now": now})
        pace = cursor.fetchone()[0]
    total = sum(counts.values()) or 1
    rate = TierSettings.current().growth_per_yuan
    rows = []
    for tier in tiers:
        needed = proposed[tier.pk]
        rows.append(TierPreview(
            tier=tier, min_growth=needed, members=counts.get(tier.pk, 0),
            share=Decimal(counts.get(tier.pk, 0)) / total,
            spend_to_reach=spend_for_growth(needed, Decimal(rate)) if needed else None,
            days_to_reach=int(Decimal(needed) / Decimal(pace)) + 1
            if needed and pace and pace > 0 else None))
    return rows
