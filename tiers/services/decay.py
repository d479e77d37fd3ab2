"""Growth decay after a paid membership lapses (QQ's rule, DESIGN §2.2).

When a paid membership has lapsed for more than `decay_grace_days` (7) Beijing calendar
days, growth falls by `decay_per_day` (5) a day until 0; when it reaches 0 the member is
re-evaluated and drops to the tier their growth and events still allow (Bronze for a member
who has bought). Buying the membership again stops the decay: growth left stays.

Membership paid until 1 March 10:00 (Beijing): 2–8 March nothing, 9 March −5, 10 March −5…
Each day's decay is one growth entry keyed "decay:<member>:<day>", so the job can run again
the same day (or twice at once) without decaying twice. A day the job did not run is not
caught up later.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import connection

from core.clock import local_date, programme_tz, resolve_now
from members.services.batch import batch_by_ids, batch_run, keyset_ids

from ..locks import lock_growth_accounts
from ..models import TierSettings
from .ladder import tier_recalculate_members

# Lapsed members with growth left, or at 0 but still on a tier that takes growth (their
# growth went to 0 some other way, e.g. returns): the latter are only re-evaluated.
_CANDIDATES_SQL = """
SELECT p.member_id FROM tiers_paidmembership p
JOIN tiers_growthaccount a ON a.member_id = p.member_id
WHERE p.ends_at < %(cutoff)s AND p.member_id > %(after)s
  AND (a.growth > 0 OR a.tier_id IN (SELECT id FROM tiers_tier WHERE min_growth > 0))
ORDER BY p.member_id LIMIT %(limit)s
"""

# One statement per chunk: the day's entry per member (at most the growth left; ON CONFLICT
# skips a member already decayed today) and the accounts moved by exactly the entries
# written. The lapse is re-checked under the lock, so a purchase that just committed wins.
_DECAY_SQL = """
WITH due AS (
    SELECT a.member_id, LEAST(a.growth, %(per_day)s) AS take
    FROM tiers_growthaccount a JOIN tiers_paidmembership p ON p.member_id = a.member_id
    WHERE a.member_id = ANY(%(members)s) AND p.ends_at < %(cutoff)s AND a.growth > 0
), entries AS (
    INSERT INTO tiers_growthentry (member_id, kind, delta, source_key, reason, created_at)
    SELECT member_id, 'decay', -take, 'decay:' || member_id || ':' || %(day)s,
           'paid membership lapsed', %(now)s
    FROM due
    ON CONFLICT (source_key) DO NOTHING
    RETURNING member_id, delta
)
UPDATE tiers_growthaccount a
SET growth = a.growth + e.delta, period_growth = GREATEST(0, a.period_growth + e.delta),
    updated_at = %(now)s
FROM entries e WHERE a.member_id = e.member_id
RETURNING a.member_id, a.growth
"""


def growth_decay_due(*, now: datetime | None = None, chunk: int = 5000,
                     run_key: str | None = None) -> int:
    """The daily job: decay the growth of every member whose paid membership lapsed more
    than the grace days ago; re-evaluate those at 0 (reached today, or earlier by returns
    while still on a tier that takes growth). Each chunk commits with the run's position
    (members.services.batch). Returns the members decayed."""
    settings = TierSettings.objects.filter(singleton=True).first() or TierSettings()
    progress = batch_run("tiers.decay", run_key=run_key, now=resolve_now(now))
    if settings.decay_per_day <= 0:
        return progress.close(0)
    now = progress.now
    today = local_date(now)
    # lapsed more than N days: the paid period ended before 00:00 (Beijing) N days ago
    cutoff = datetime.combine(today - timedelta(days=settings.decay_grace_days), time.min,
                              tzinfo=programme_tz())
    params = {"now": now, "cutoff": cutoff, "day": today.isoformat(),
              "per_day": settings.decay_per_day}

    def apply(members: list[int]) -> int:
        lock_growth_accounts(members, now=now)
        with connection.cursor() as cursor:
            cursor.execute(_DECAY_SQL, {**params, "members": members})
            decayed = len(cursor.fetchall())
            cursor.execute("SELECT member_id FROM tiers_growthaccount "
                           "WHERE member_id = ANY(%s) AND growth = 0", [members])
            at_zero = [row[0] for row in cursor.fetchall()]
        if at_zero:
            tier_recalculate_members(member_ids=at_zero, now=now)
        return decayed

    return batch_by_ids(progress, next_ids=keyset_ids(_CANDIDATES_SQL, params, chunk=chunk),
                        apply=apply)
