"""Rule tags: refreshed for everyone each night (one statement per chunk of members for all
rules together) and for one member on the events that can change them (a sale, a return,
an event, a registration)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from core.clock import resolve_now

from ..models import TagChange, TagRule
from ..tag_conditions import compile_rule
from .batch import batch_by_ranges, batch_run
from .tags import TagSync, member_tags_sync, retry_deadlocks

CHUNK = 20_000


def _active_rules() -> list[TagRule]:
    return list(TagRule.objects.filter(is_active=True, tag__is_active=True)
                .select_related("tag").prefetch_related("conditions").order_by("pk"))


def _retired_tag_ids(active: list[TagRule]) -> list[int]:
    """Tags of rules an operator switched off (and no active rule still sets): the nightly
    refresh takes them off everyone, with history, as if no member met the rule."""
    kept = {r.tag_id for r in active}
    return sorted(set(TagRule.objects.filter(is_active=False).values_list("tag_id", flat=True))
                  - kept)


def _desired(rules: list[TagRule], now: datetime) -> tuple[str, list]:
    """(member_id, tag_id) for every rule a member meets, members in [lo, hi) (the range is
    given to both tables, so each reads only its chunk through its primary key)."""
    if not rules:
        return "SELECT NULL::bigint AS member_id, NULL::bigint AS tag_id WHERE false", []
    selects, params = [], []
    for rule in rules:
        where, p = compile_rule(list(rule.conditions.all()), now=now)
        selects.append(f"""
            SELECT m.id AS member_id, {int(rule.tag_id)}::bigint AS tag_id
            FROM members_member m
            LEFT JOIN members_memberstats s
                ON s.member_id = m.id AND s.member_id >= %s AND s.member_id < %s
            WHERE m.id >= %s AND m.id < %s AND m.status <> 'closed' AND ({where})""")
        params.append(p)
    return " UNION ALL ".join(selects), params


def _sync(rules: list[TagRule], lo: int, hi: int, now: datetime,
          retired: list[int] = ()) -> TagSync:
    sql, per_rule = _desired(rules, now)
    params = [x for p in per_rule for x in (lo, hi, lo, hi, *p)]
    return member_tags_sync(desired_sql=sql, params=params,
                            tag_ids=[r.tag_id for r in rules] + list(retired),
                            member_from=lo, member_to=hi, cause=TagChange.Cause.RULE, now=now)


def tag_rules_refresh_member(*, member_id: int, now: datetime | None = None) -> TagSync:
    """After an event: the member's rule tags as the rules say now."""
    now = resolve_now(now)
    rules = _active_rules()
    if not rules:
        return TagSync(0, 0)
    return _sync(rules, member_id, member_id + 1, now)


def tag_rules_refresh(*, rule_ids: list[int] | None = None,
                      now: datetime | None = None, run_key: str | None = None) -> TagSync:
    """Every active rule (or the given ones) over every member, chunk by chunk; each chunk
    commits on its own with the run's position (members.services.batch), and running it again
    changes nothing. The full refresh also takes the tags of switched-off rules off their
    members."""
    progress = batch_run("members.rule_tags", run_key=run_key, now=resolve_now(now))
    now = progress.now
    active = _active_rules()
    rules = [r for r in active if rule_ids is None or r.pk in rule_ids]
    retired = _retired_tag_ids(active) if rule_ids is None else []
    if not rules and not retired:
        return progress.close(TagSync(0, 0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM members_member")
        low, high = cursor.fetchone()
    added = removed = 0

    def apply(lo: int, hi: int) -> int:
        nonlocal added, removed
        done = _sync(rules, lo, hi, now, retired)
        added, removed = added + done.added, removed + done.removed
        return done.added + done.removed

    batch_by_ranges(progress, low=low, high=high, size=CHUNK, apply=apply,
                    retry=retry_deadlocks)
    TagRule.objects.filter(pk__in=[r.pk for r in rules]).update(refreshed_at=now)
    return TagSync(added, removed)
