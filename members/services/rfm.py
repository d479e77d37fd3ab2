"""RFM scores, named RFM segments, the M×F quadrant, and product preference tags — the
nightly, population-wide part of what the programme knows about its members.

Scores are quantiles of the members who bought: with 5 levels, the boundaries are the
20th, 40th, 60th and 80th percentiles; a value above the k-th boundary scores k + 1 (for
recency, days since the last purchase, fewer days score higher). Each run records its
boundaries (RfmRun) so the operator sees what "F 4" means today.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.utils.text import slugify

from core.clock import resolve_now

from ..models import MemberSettings, RfmRun, Tag, TagChange, TagGroup
from .batch import batch_by_ranges, batch_run
from .tags import TagSync, member_tags_sync, retry_deadlocks

CHUNK = 20_000
PREFERENCE_DAYS = 365
PREFERENCE_TOP = 2  # at most this many preferred categories per member …
PREFERENCE_SHARE = "0.25"  # … each at least this share of the member's net spend
PREFERENCE_GROUP = "购买偏好"
PREFERENCE_PREFIX = "buys-"

_SCORE = """
UPDATE members_memberstats s SET
    recency_score = x.r, frequency_score = x.f, monetary_score = x.m,
    rfm_segment = coalesce(seg.code, ''),
    quadrant = CASE WHEN x.f > %(middle)s AND x.m > %(middle)s THEN 'core'
                    WHEN x.f > %(middle)s THEN 'frequent'
                    WHEN x.m > %(middle)s THEN 'big_ticket'
                    ELSE 'light' END
FROM (
    SELECT member_id,
           %(levels)s - width_bucket(
               floor(extract(epoch FROM %(now)s - last_purchase_at) / 86400)::int - 1,
               %(r)s::int[]) AS r,
           1 + width_bucket(order_count - 1, %(f)s::int[]) AS f,
           1 + width_bucket(net_spend - 0.01, %(m)s::numeric[]) AS m
    FROM members_memberstats
    WHERE member_id >= %(lo)s AND member_id < %(hi)s
) x
LEFT JOIN LATERAL (
    SELECT g.code FROM members_rfmsegment g
    WHERE x.r BETWEEN g.r_min AND g.r_max AND x.f BETWEEN g.f_min AND g.f_max
      AND x.m BETWEEN g.m_min AND g.m_max
    ORDER BY g.priority, g.code LIMIT 1
) seg ON true
WHERE s.member_id = x.member_id
  AND (s.recency_score, s.frequency_score, s.monetary_score, s.rfm_segment)
      IS DISTINCT FROM (x.r, x.f, x.m, coalesce(seg.code, ''))
"""


def rfm_score(*, now: datetime | None = None, run_key: str | None = None) -> RfmRun | None:
    """Score every buying member 1..levels on R, F and M, name the segment and the quadrant.
    One statement finds the boundaries; then one UPDATE per chunk of members. A run
    delivered again scores the rest against the boundaries it found first."""
    progress = batch_run("members.rfm", run_key=run_key, now=resolve_now(now))
    now = progress.now
    with progress.chunk():
        if "rfm_run" in progress.state:
            run = RfmRun.objects.filter(pk=progress.state["rfm_run"]).first()
        elif progress.finished:
            run = None
        else:
            run = _rfm_boundaries(now)
            if run is None:
                progress.finish()
                return None
            progress.remember(rfm_run=run.pk, low=run.low, high=run.high)
        low, high = progress.state.get("low", 0), progress.state.get("high", 0)
    if run is None or progress.finished:
        return run
    params = {"now": now, "levels": run.levels, "middle": run.levels / 2,
              "r": run.recency_days, "f": run.frequency, "m": run.monetary}

    def apply(lo: int, hi: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute(_SCORE, {**params, "lo": lo, "hi": hi})
            return cursor.rowcount

    batch_by_ranges(progress, low=low, high=high, size=CHUNK, apply=apply)
    return run


def _rfm_boundaries(now: datetime) -> RfmRun | None:
    levels = MemberSettings.current().rfm_levels
    fractions = [k / levels for k in range(1, levels)]
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*),
                 percentile_disc(%(q)s::float8[]) WITHIN GROUP (
                     ORDER BY floor(extract(epoch FROM %(now)s - last_purchase_at) / 86400)::int),
                 percentile_disc(%(q)s::float8[]) WITHIN GROUP (ORDER BY order_count),
                 percentile_disc(%(q)s::float8[]) WITHIN GROUP (ORDER BY net_spend),
                 coalesce(min(member_id), 0), coalesce(max(member_id), 0)
               FROM members_memberstats""",
            {"q": fractions, "now": now})
        count, r, f, m, low, high = cursor.fetchone()
    if not count:
        return None
    run = RfmRun.objects.create(computed_at=now, levels=levels, members=count,
                                recency_days=r, frequency=f, monetary=m)
    run.low, run.high = low, high
    return run


def _preference_tags(since: datetime, now: datetime) -> dict[str, int]:
    """A system tag per category bought in the window (created on first sight)."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT DISTINCT l.category FROM members_orderline l
                          JOIN members_order o ON o.id = l.order_id
                          WHERE o.kind = 'sale' AND o.ordered_at >= %s AND o.ordered_at <= %s
                            AND l.category <> ''""", [since, now])
        categories = sorted(row[0] for row in cursor.fetchall())
    group, _ = TagGroup.objects.get_or_create(name=PREFERENCE_GROUP)
    tags = {}
    for category in categories:
        code = PREFERENCE_PREFIX + (slugify(category, allow_unicode=True)[:50] or "x")
        tag, _ = Tag.objects.get_or_create(code=code, defaults={
            "name": f"偏好·{category}"[:64], "kind": Tag.Kind.SYSTEM, "group": group,
            "description": category})
        tags[category] = tag.pk
    return tags


_PREFERENCES = """
SELECT member_id, tag_id FROM (
    SELECT o.member_id, t.tag_id,
           sum(CASE WHEN o.kind = 'sale' THEN l.net_amount ELSE -l.net_amount END) AS spend,
           row_number() OVER (PARTITION BY o.member_id ORDER BY
               sum(CASE WHEN o.kind = 'sale' THEN l.net_amount ELSE -l.net_amount END) DESC,
               t.tag_id) AS place,
           sum(sum(CASE WHEN o.kind = 'sale' THEN l.net_amount ELSE -l.net_amount END))
               OVER (PARTITION BY o.member_id) AS total
    FROM members_order o
    JOIN members_orderline l ON l.order_id = o.id
    JOIN unnest(%s::text[], %s::bigint[]) AS t(category, tag_id) ON t.category = l.category
    WHERE o.member_id >= %s AND o.member_id < %s AND o.ordered_at >= %s AND o.ordered_at <= %s
    GROUP BY o.member_id, t.tag_id
) ranked
WHERE place <= %s AND spend > 0 AND spend >= total * %s::numeric
"""


def preference_tags_refresh(*, now: datetime | None = None,
                            run_key: str | None = None) -> TagSync:
    """The categories a member buys most over the last year: up to two, each at least a
    quarter of the member's net spend there (returns count against their category). A
    member who buys tea for ¥800 and coffee for ¥150 of ¥1,000 prefers tea only."""
    progress = batch_run("members.preferences", run_key=run_key, now=resolve_now(now))
    now = progress.now
    since = now - timedelta(days=PREFERENCE_DAYS)
    tags = _preference_tags(since, now)
    tag_ids = list(Tag.objects.filter(code__startswith=PREFERENCE_PREFIX, kind=Tag.Kind.SYSTEM)
                   .values_list("pk", flat=True))
    if not tag_ids:
        return progress.close(TagSync(0, 0))
    categories = list(tags)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM members_member")
        low, high = cursor.fetchone()
    added = removed = 0

    def apply(lo: int, hi: int) -> int:
        nonlocal added, removed
        done = member_tags_sync(
            desired_sql=_PREFERENCES,
            params=[categories, [tags[c] for c in categories], lo, hi, since, now,
                    PREFERENCE_TOP, PREFERENCE_SHARE],
            tag_ids=tag_ids, member_from=lo, member_to=hi,
            cause=TagChange.Cause.SYSTEM, now=now)
        added, removed = added + done.added, removed + done.removed
        return done.added + done.removed

    batch_by_ranges(progress, low=low, high=high, size=CHUNK, apply=apply,
                    retry=retry_deadlocks)
    return TagSync(added, removed)
