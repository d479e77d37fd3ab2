"""Writes to the ladder. Every function takes `now`, holds the member's growth-account
lock (tiers.locks) and writes tier, tier changes and the tier's system tag together or not at
all.

Upgrades happen at once (`tier_evaluate_upgrade`, after every growth posting); downgrades only
when a tier's validity ends (`tier_reevaluate_due`, a set-based batch job), or at once on a
return when the ladder's `immediate_downgrade` option is on (`tier_downgrade_now`). A manual
tier (`tier_set_manual`) is a floor neither goes below until it ends."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction

from core.clock import local_date, resolve_now
from members.models import BatchRun, Member
from members.selectors.orders import member_has_purchased, member_has_purchased_sql
from members.services.access import member_note_write
from members.services.batch import batch_by_ids, batch_run, keyset_ids
from members.services.tags import member_tags_add, member_tags_remove, tag_writes

from ..errors import TierError, TierErrorCode
from ..locks import lock_growth_accounts
from ..models import (
    ChangeReason,
    GrowthAccount,
    ManualReason,
    ManualTier,
    Tier,
    TierChange,
    TierSettings,
)
from ..selectors.ladder import tier_for_growth, tier_for_growth_sql

# --- the ladder -------------------------------------------------------------------------------


def _valid_until(tier: Tier, start: datetime) -> datetime | None:
    if not tier.validity_months:
        return None
    return start + relativedelta(months=tier.validity_months)


def _swap_tag(member_id: int, old: Tier | None, new: Tier | None, now: datetime) -> None:
    if old is not None and (new is None or old.tag_id != new.tag_id):
        member_tags_remove(tag_id=old.tag_id, member_ids=[member_id], now=now)
    if new is not None:
        member_tags_add(tag_id=new.tag_id, member_ids=[member_id], now=now)


def _change_tier(account: GrowthAccount, tier: Tier, *, reason: str, now: datetime) -> TierChange:
    old = account.tier
    change = TierChange.objects.create(member_id=account.member_id, from_tier=old, to_tier=tier,
                                       reason=reason, created_at=now)
    account.tier = tier
    account.tier_since = now
    account.tier_valid_until = _valid_until(tier, now)
    account.period_growth = 0
    account.updated_at = now
    account.save(update_fields=["tier", "tier_since", "tier_valid_until", "period_growth",
                                "updated_at"])
    _swap_tag(account.member_id, old, tier, now)
    return change


def tier_evaluate_upgrade(*, account: GrowthAccount, now: datetime | None = None) -> TierChange | None:
    """Move a locked account up to the highest tier it qualifies for; never down."""
    now = resolve_now(now)
    best = tier_for_growth(growth=account.growth,
                           purchased=member_has_purchased(account.member_id))
    if best is None:
        return None
    if account.tier is not None and best.rank <= account.tier.rank:
        return None
    reason = ChangeReason.INITIAL if account.tier is None else ChangeReason.UPGRADE
    return _change_tier(account, best, reason=reason, now=now)


def tier_set_manual(*, member_id: int, tier_id: int, reason: str, ends_at: datetime,
                    operator_id: int | None, note: str = "",
                    now: datetime | None = None) -> ManualTier:
    """An operator puts a member on a tier until `ends_at` (a VIP guest, staff): the member
    moves to it now (a `manual` tier change) and, until it ends, re-evaluation and
    recalculation never take them below it; upgrades still happen. When it ends the member
    goes to the tier their growth reaches, without the tier's end policy. What the operator
    wrote is a member note; a new setting replaces the floor."""
    now = resolve_now(now)
    if reason not in ManualReason.values or not operator_id:
        raise TierError(TierErrorCode.MANUAL_TIER_REASON)
    if ends_at is None or ends_at <= now:
        raise TierError(TierErrorCode.MANUAL_TIER_END)
    tier = Tier.objects.filter(pk=tier_id, is_active=True).first()
    if tier is None:
        raise TierError(TierErrorCode.TIER_NOT_FOUND)
    with transaction.atomic():
        status = Member.objects.filter(pk=member_id).values_list("status", flat=True).first()
        if status is None or status == Member.Status.CLOSED:
            raise TierError(TierErrorCode.MANUAL_TIER_MEMBER)
        account = lock_growth_accounts([member_id], now=now)[member_id]
        manual = ManualTier.objects.create(
            member_id=member_id, tier=tier, reason=reason, ends_at=ends_at,
            operator_id=operator_id, created_at=now,
            note=member_note_write(member_id=member_id, text=note, created_by_id=operator_id,
                                   now=now))
        account.floor_tier = tier
        account.floor_until = ends_at
        fields = ["floor_tier", "floor_until", "updated_at"]
        if account.tier_id != tier.pk:
            _change_tier(account, tier, reason=ChangeReason.MANUAL, now=now)
            account.tier_valid_until = ends_at  # evaluated again when it ends
            fields.append("tier_valid_until")
        account.updated_at = now
        account.save(update_fields=fields)
        return manual


def tier_downgrade_now(*, account: GrowthAccount, now: datetime) -> TierChange | None:
    """With the ladder's `immediate_downgrade` on, drop a locked account at once to the
    tier its growth reaches (never below a manual tier still running), as the periodic
    recalculation would; off (the default), do nothing: downgrades wait for re-evaluation."""
    if not TierSettings.current().immediate_downgrade or account.tier_id is None:
        return None
    if not tier_recalculate_members(member_ids=[account.member_id], now=now):
        return None
    account.refresh_from_db()
    return TierChange.objects.filter(member_id=account.member_id).order_by("-id").first()


# --- re-evaluation when validity ends: set-based SQL over chunks of members -----------------

_CANDIDATES_SQL = """
SELECT member_id FROM tiers_growthaccount
WHERE tier_valid_until <= %(now)s AND member_id > %(after)s
ORDER BY member_id LIMIT %(limit)s
"""

# One statement per chunk: apply each due member's end policy (CASE), find the highest tier
# the remaining growth and events allow, write the policy entries and tier changes
# (INSERT … SELECT), move the accounts to their next period and swap the system tags.
# The new period starts when the old one ended, so a late or repeated run gives the same
# dates; a renewed account is no longer due.
_REEVALUATE_SQL = """
WITH due AS (
    SELECT a.member_id, a.growth, a.period_growth, a.tier_valid_until AS ended,
           t.id AS tier_id, t.rank, t.tag_id, t.end_policy, t.keep_percent,
           t.deduct_numerator, t.deduct_denominator, t.keep_threshold,
           {purchased} AS purchased,
           ft.id AS floor_id, ft.rank AS floor_rank, a.floor_until,
           -- the manual tier held has ended: the member goes where their growth reaches,
           -- without the tier's end policy
           (a.floor_tier_id = a.tier_id AND a.floor_until <= %(now)s) AS manual_ended
    FROM tiers_growthaccount a JOIN tiers_tier t ON t.id = a.tier_id
    LEFT JOIN tiers_tier ft ON ft.id = a.floor_tier_id AND a.floor_until > %(now)s
    WHERE a.member_id = ANY(%(members)s) AND a.tier_valid_until <= %(now)s
), policy AS (
    SELECT due.*,
           CASE WHEN manual_ended THEN growth ELSE CASE end_policy
               WHEN 'reset' THEN 0::bigint
               WHEN 'keep_percent' THEN growth * keep_percent / 100
               WHEN 'deduct_fraction' THEN growth - growth * deduct_numerator / deduct_denominator
               -- missed the keep threshold: only the growth earned this period still counts
               WHEN 'keep_if_period_growth' THEN
                   CASE WHEN period_growth >= keep_threshold THEN growth
                        ELSE LEAST(growth, period_growth) END
               ELSE growth
           END END AS new_growth,
           (NOT manual_ended AND (end_policy = 'keep' OR (end_policy = 'keep_if_period_growth'
                                  AND period_growth >= keep_threshold))) AS keeps
    FROM due
), target AS (
    SELECT p.*,
           CASE WHEN p.keeps AND (best.rank IS NULL OR best.rank < p.rank) THEN p.tier_id
                ELSE best.id END AS auto_tier_id,
           CASE WHEN p.keeps AND (best.rank IS NULL OR best.rank < p.rank) THEN p.rank
                ELSE best.rank END AS auto_rank
    FROM policy p
    LEFT JOIN LATERAL {best} best ON TRUE
), floored AS (
    -- a manual tier still running is a floor: never below it
    SELECT t.*, (t.floor_rank IS NOT NULL
                 AND (t.auto_rank IS NULL OR t.auto_rank < t.floor_rank)) AS held_up,
           CASE WHEN t.floor_rank IS NOT NULL
                     AND (t.auto_rank IS NULL OR t.auto_rank < t.floor_rank)
                THEN t.floor_id ELSE t.auto_tier_id END AS new_tier_id
    FROM target t
), outcome AS (
    SELECT tg.*, nt.rank AS new_rank, nt.tag_id AS new_tag_id,
           -- held up by the floor: evaluated again when the manual tier ends
           CASE WHEN tg.held_up THEN tg.floor_until
                WHEN nt.validity_months IS NULL THEN NULL
                ELSE tg.ended + make_interval(months => nt.validity_months) END AS new_until
    FROM floored tg LEFT JOIN tiers_tier nt ON nt.id = tg.new_tier_id
), entries AS (
    INSERT INTO tiers_growthentry (member_id, kind, delta, source_key, reason, created_at)
    SELECT member_id, 'expiry_policy', new_growth - growth,
           'expiry:' || member_id || ':' || floor(extract(epoch FROM ended))::bigint,
           'tier period ended: ' || end_policy, %(now)s
    FROM outcome WHERE new_growth <> growth
    RETURNING member_id
), changes AS (
    INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, reason, created_at)
    SELECT member_id, tier_id, new_tier_id,
           CASE WHEN new_tier_id = tier_id THEN 'renewal'
                WHEN new_rank > rank THEN 'upgrade'
                ELSE 'downgrade' END,
           %(now)s
    FROM outcome
    RETURNING member_id
), accounts AS (
    UPDATE tiers_growthaccount a
    SET growth = o.new_growth, tier_id = o.new_tier_id, tier_since = o.ended,
        tier_valid_until = o.new_until, period_growth = 0, updated_at = %(now)s,
        floor_tier_id = CASE WHEN a.floor_until > %(now)s THEN a.floor_tier_id END,
        floor_until = CASE WHEN a.floor_until > %(now)s THEN a.floor_until END
    FROM outcome o WHERE a.member_id = o.member_id
    RETURNING a.member_id
), untagged AS (
    DELETE FROM members_membertag mt USING outcome o
    WHERE mt.member_id = o.member_id
      AND mt.tag_id IN (SELECT tag_id FROM tiers_tier)
      AND mt.tag_id IS DISTINCT FROM o.new_tag_id
    RETURNING mt.member_id
), tagged AS (
    INSERT INTO members_membertag (member_id, tag_id, added_at)
    SELECT member_id, new_tag_id, %(now)s FROM outcome
    WHERE new_tag_id IS NOT NULL AND new_tag_id IS DISTINCT FROM tag_id
    ON CONFLICT (member_id, tag_id) DO NOTHING
    RETURNING member_id
)
SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM entries),
       (SELECT count(*) FROM changes), (SELECT count(*) FROM untagged),
       (SELECT count(*) FROM tagged)
""".format(purchased=member_has_purchased_sql("a.member_id"),
           best=tier_for_growth_sql(growth="p.new_growth", purchased="p.purchased",
                                    columns="t.id, t.rank"))


def _apply_to_chunk(sql: str, members: list[int], now: datetime) -> int:
    """One set-based statement over a chunk of members, its tag writes the system's
    (members.services.tags.tag_writes); returns its first column."""
    with connection.cursor() as cursor, tag_writes(cursor, cause="system", now=now):
        cursor.execute(sql, {"members": members, "now": now})
        return cursor.fetchone()[0]


def _reevaluate_chunk(members: list[int], now: datetime) -> int:
    """One chunk in its own transaction: lock the accounts in id order, apply one statement."""
    with transaction.atomic():
        lock_growth_accounts(members, now=now)
        return _apply_to_chunk(_REEVALUATE_SQL, members, now)


def tier_reevaluate_due(*, now: datetime | None = None, chunk: int = 2000,
                        run_key: str | None = None) -> int:
    """Apply the end policy of every tier whose validity has ended and re-evaluate: the same
    tier is renewed for another period, a lower one is a downgrade. Each chunk commits on
    its own with the run's position (members.services.batch), so a crash loses nothing and the run
    delivered again carries on after the last chunk, for the same `now`.
    Returns the number of accounts re-evaluated by the run."""
    progress = batch_run("tiers.reevaluate", run_key=run_key, now=resolve_now(now))
    now = progress.now

    return batch_by_ids(progress, next_ids=keyset_ids(_CANDIDATES_SQL, {"now": now}, chunk=chunk),
                        apply=lambda members: _reevaluate_chunk(members, now))


# --- periodic recalculation (monthly / yearly, if the operator turns it on) ------------------

# Re-evaluate members against their growth as it stands, without an end-of-validity policy:
# a member whose growth (and first purchase) no longer reaches their tier drops to the
# highest tier it does reach, starting a new period there. Nobody moves up here — upgrades
# already happen at once — and a re-run finds nothing left to do.
_RECALCULATE_SQL = """
WITH cur AS (
    SELECT a.member_id, a.growth, t.id AS tier_id, t.rank, t.tag_id,
           {purchased} AS purchased, ft.id AS floor_id, ft.rank AS floor_rank, a.floor_until
    FROM tiers_growthaccount a JOIN tiers_tier t ON t.id = a.tier_id
    LEFT JOIN tiers_tier ft ON ft.id = a.floor_tier_id AND a.floor_until > %(now)s
    WHERE a.member_id = ANY(%(members)s)
), pick AS (
    -- the tier the growth reaches, or the manual tier still running if that is higher
    SELECT c.*, (c.floor_rank IS NOT NULL AND c.floor_rank > best.rank) AS held_up,
           CASE WHEN c.floor_rank IS NOT NULL AND c.floor_rank > best.rank THEN c.floor_id
                ELSE best.id END AS pick_id
    FROM cur c
    JOIN LATERAL {best} best ON TRUE
), down AS (
    SELECT p.*, nt.id AS new_tier_id, nt.tag_id AS new_tag_id,
           nt.validity_months AS new_validity
    FROM pick p JOIN tiers_tier nt ON nt.id = p.pick_id
    WHERE nt.rank < p.rank
), changes AS (
    INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, reason, created_at)
    SELECT member_id, tier_id, new_tier_id, 'downgrade', %(now)s FROM down
    RETURNING member_id
), accounts AS (
    UPDATE tiers_growthaccount a
    SET tier_id = d.new_tier_id, tier_since = %(now)s, period_growth = 0, updated_at = %(now)s,
        tier_valid_until = CASE WHEN d.held_up THEN d.floor_until
                                WHEN d.new_validity IS NULL THEN NULL
                                ELSE %(now)s + make_interval(months => d.new_validity) END
    FROM down d WHERE a.member_id = d.member_id
    RETURNING a.member_id
), untagged AS (
    DELETE FROM members_membertag mt USING down d
    WHERE mt.member_id = d.member_id AND mt.tag_id = d.tag_id
    RETURNING mt.member_id
), tagged AS (
    INSERT INTO members_membertag (member_id, tag_id, added_at)
    SELECT member_id, new_tag_id, %(now)s FROM down WHERE new_tag_id IS NOT NULL
    ON CONFLICT (member_id, tag_id) DO NOTHING
    RETURNING member_id
)
SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM changes),
       (SELECT count(*) FROM untagged), (SELECT count(*) FROM tagged)
""".format(purchased=member_has_purchased_sql("a.member_id"),
           best=tier_for_growth_sql(growth="c.growth", purchased="c.purchased",
                                    columns="t.id, t.rank, t.tag_id, t.validity_months"))


def tier_recalculate(*, now: datetime | None = None, chunk: int = 5000,
                     run_key: str | None = None) -> int:
    """Re-evaluate every member with a tier against the growth they have now; returns how
    many moved down. Chunks of members in id order, each in its own transaction with the
    run's position."""
    progress = batch_run("tiers.recalculate", run_key=run_key, now=resolve_now(now))
    now = progress.now

    def apply(members: list[int]) -> int:
        lock_growth_accounts(members, now=now)
        return tier_recalculate_members(member_ids=members, now=now)

    return batch_by_ids(progress, next_ids=keyset_ids(
        "SELECT member_id FROM tiers_growthaccount WHERE tier_id IS NOT NULL "
        "AND member_id > %(after)s ORDER BY member_id LIMIT %(limit)s", chunk=chunk),
        apply=apply)


def tier_recalculate_members(*, member_ids: list[int], now: datetime) -> int:
    """Re-evaluate these members against the growth they have now (one statement); the
    caller holds their growth-account locks. Returns how many moved down."""
    return _apply_to_chunk(_RECALCULATE_SQL, member_ids, now)


def tier_recalculate_if_due(*, now: datetime | None = None,
                            run_key: str | None = None) -> int | None:
    """The daily beat job: on the 1st of the month (monthly) or 1 January (yearly), in
    Beijing time, recalculate; otherwise do nothing (None)."""
    now = resolve_now(now)
    if run_key and BatchRun.objects.filter(job="tiers.recalculate", run_key=run_key).exists():
        return tier_recalculate(now=now, run_key=run_key)  # delivered again: carry on
    mode = TierSettings.current().recalculation
    today = local_date(now)
    if mode == "monthly" and today.day == 1 or mode == "yearly" and (today.month, today.day) == (1, 1):
        return tier_recalculate(now=now, run_key=run_key)
    return None


# --- members added in bulk (an import, a COPY load): their first place on the ladder ----------

# One statement per chunk: members without a growth account get one, at the highest tier a
# member with no growth reaches — the tier given on registration, or the first-purchase tier
# for one who has bought — with the initial tier change and the tier's system tag, as
# registering them one by one would have. ON CONFLICT skips a member a sale or an event
# placed meanwhile (lock_growth_accounts inserts the row first).
_PLACE_SQL = """
WITH unplaced AS (
    SELECT m.id AS member_id, {purchased} AS purchased
    FROM members_member m
    WHERE m.id = ANY(%(members)s) AND m.status <> 'closed'
      AND NOT EXISTS (SELECT 1 FROM tiers_growthaccount a WHERE a.member_id = m.id)
), placed AS (
    SELECT u.member_id, best.id AS tier_id, best.tag_id,
           CASE WHEN best.validity_months IS NULL THEN NULL
                ELSE %(now)s + make_interval(months => best.validity_months) END AS valid_until
    FROM unplaced u
    LEFT JOIN LATERAL {best} best ON TRUE
), accounts AS (
    INSERT INTO tiers_growthaccount (member_id, growth, period_growth, tier_id, tier_since,
                                     tier_valid_until, updated_at)
    SELECT member_id, 0, 0, tier_id, CASE WHEN tier_id IS NULL THEN NULL ELSE %(now)s END,
           valid_until, %(now)s
    FROM placed ORDER BY member_id
    ON CONFLICT (member_id) DO NOTHING
    RETURNING member_id, tier_id
), changes AS (
    INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, reason, created_at)
    SELECT member_id, NULL, tier_id, 'initial', %(now)s FROM accounts WHERE tier_id IS NOT NULL
    RETURNING member_id
), tagged AS (
    INSERT INTO members_membertag (member_id, tag_id, added_at)
    SELECT a.member_id, t.tag_id, %(now)s
    FROM accounts a JOIN tiers_tier t ON t.id = a.tier_id
    ORDER BY a.member_id
    ON CONFLICT (member_id, tag_id) DO NOTHING
    RETURNING member_id
)
SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM changes),
       (SELECT count(*) FROM tagged)
""".format(purchased=member_has_purchased_sql("m.id"),
           best=tier_for_growth_sql(growth="0", purchased="u.purchased",
                                    columns="t.id, t.tag_id, t.validity_months"))


def tier_place_unplaced(*, now: datetime | None = None, chunk: int = 5000,
                        run_key: str | None = None) -> int:
    """Give members added in bulk their first tier: an import or a COPY load writes members
    and orders but no growth account, so nobody would hold a tier until their first sale or
    event. Each gets what registering would have given: Registered, or Bronze when they
    have bought already — growth 0, the initial tier change, the tier's system tag. Chunks
    of member ids, one statement and one transaction each; a re-run finds nobody left.
    Returns the members placed."""
    progress = batch_run("tiers.place", run_key=run_key, now=resolve_now(now))
    now = progress.now

    return batch_by_ids(progress, next_ids=keyset_ids(
        "SELECT m.id FROM members_member m WHERE m.id > %(after)s AND m.status <> 'closed' "
        "AND NOT EXISTS (SELECT 1 FROM tiers_growthaccount a WHERE a.member_id = m.id) "
        "ORDER BY m.id LIMIT %(limit)s", chunk=chunk),
        apply=lambda members: _apply_to_chunk(_PLACE_SQL, members, now))
