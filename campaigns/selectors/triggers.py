"""Event triggers: which members a batch of the commit-ordered feed concerns, and why.

A trigger is data — a kind and a few parameters — so the campaign form stores it as two
fields and `trigger_spec` checks it at save. Each event is (kind, member, occasion,
facts); the occasion is the key the campaign acts under, once per member:

| kind | reads | occasion |
|---|---|---|
| registration | members | `once` |
| first_purchase | orders | `once` |
| purchase (store / amount / category) | orders | `order:<order id>` |
| tier_change (up / down / any, to which tiers) | tier_changes | `tier:<TierChange id>` |
| tag_change (a tag, added or removed) | tag_changes | `tag:<TagChange id>` |
| streak_reached (a day of the streak cycle) | checkins | `streak:<CheckIn id>` |

The time-based kinds (lapse, registered N days without a purchase, paid membership end,
points expiring) are daily scans, in
`selectors/trigger_scans.py`. Events are only ever offered for active members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _g

from campaigns.errors import TriggerError, TriggerErrorCode
from campaigns.models.campaign import TriggerKind
from campaigns.selectors.feed import FeedRow

# the feed table each event kind reads; the other kinds are daily scans
FEED_SOURCE = {
    TriggerKind.REGISTRATION: "members",
    TriggerKind.FIRST_PURCHASE: "orders",
    TriggerKind.PURCHASE: "orders",
    TriggerKind.TIER_CHANGE: "tier_changes",
    TriggerKind.TAG_CHANGE: "tag_changes",
    TriggerKind.STREAK_REACHED: "checkins",
}
SCAN_KINDS = (TriggerKind.LAPSE, TriggerKind.NEW_NO_PURCHASE, TriggerKind.PAID_END,
              TriggerKind.POINTS_EXPIRING)
EVENT_KINDS = (*FEED_SOURCE, *SCAN_KINDS)


@dataclass(frozen=True)
class TriggerSpec:
    """A checked trigger. Only the parameters of its kind are set.

    - registration: `channels` (empty: every channel but bulk imports);
    - purchase: `stores` (codes), `min_amount` (net paid, CNY), `categories` (a line of
      one of them); each given condition must hold;
    - tier_change: `direction` (up / down / any), `to_tiers` (codes; empty: any);
    - tag_change: `tag` (code), `action` (added / removed);
    - lapse: `days` without a purchase — or `cycle` "member" (the member's own repurchase
      cycle, the programme's when they have bought once) or "programme", times `factor`;
    - paid_end: `days` from the end of the paid period (−7: a week before; 3: three days
      after);
    - points_expiring: `days` — points that expire within that many days;
    - streak_reached: `days` — the day of the check-in streak cycle (3, 7 …);
    - new_no_purchase: `days` after registration (Beijing dates) without a sale;
    - lapse, new_no_purchase and paid_end: `grace_days`, how many days a missed daily scan may catch up.
    """

    kind: str
    channels: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    min_amount: Decimal | None = None
    categories: tuple[str, ...] = ()
    direction: str = "any"
    to_tiers: tuple[str, ...] = ()
    tag: str = ""
    action: str = ""
    days: int | None = None
    cycle: str = ""
    factor: Decimal = Decimal(1)
    grace_days: int = 7

    @property
    def source(self) -> str | None:
        return FEED_SOURCE.get(self.kind)


@dataclass(frozen=True)
class TriggerEvent:
    kind: str
    member_id: int
    occasion: str
    facts: dict[str, Any] = field(default_factory=dict, compare=False)


def _invalid(reason) -> TriggerError:
    return TriggerError(TriggerErrorCode.INVALID_TRIGGER, reason=str(reason))


def _codes(params: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = params.get(key) or ()
    if isinstance(value, str) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _invalid(_g("“%(key)s” must be a list of codes.") % {"key": key})
    return tuple(v.strip() for v in value)


def _int(params: Mapping[str, Any], key: str, *, low: int, high: int,
         default: int | None = None) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(_g("“%(key)s” must be a whole number from %(low)s to %(high)s.")
                       % {"key": key, "low": low, "high": high})
    return value


def _choice(params: Mapping[str, Any], key: str, choices: Sequence[str], default: str) -> str:
    value = params.get(key, default)
    if value not in choices:
        raise _invalid(_g("“%(key)s” must be one of: %(choices)s.")
                       % {"key": key, "choices": ", ".join(choices)})
    return value


def trigger_spec(kind: str, params: Mapping[str, Any] | None = None) -> TriggerSpec:
    """Check a trigger as the campaign form stores it; raises `TriggerError` with a
    translated reason. Unknown parameters are refused (a typo must not widen a trigger)."""
    params = dict(params or {})
    if kind not in EVENT_KINDS:  # the calendar kinds are not event triggers
        raise TriggerError(TriggerErrorCode.UNKNOWN_TRIGGER, kind=kind)
    allowed = {
        TriggerKind.REGISTRATION: {"channels"},
        TriggerKind.FIRST_PURCHASE: set(),
        TriggerKind.PURCHASE: {"stores", "min_amount", "categories"},
        TriggerKind.TIER_CHANGE: {"direction", "to_tiers"},
        TriggerKind.TAG_CHANGE: {"tag", "action"},
        TriggerKind.STREAK_REACHED: {"days"},
        TriggerKind.LAPSE: {"days", "cycle", "factor", "grace_days"},
        TriggerKind.NEW_NO_PURCHASE: {"days", "grace_days"},
        TriggerKind.PAID_END: {"days", "grace_days"},
        TriggerKind.POINTS_EXPIRING: {"days"},
    }[kind]
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise _invalid(_g("unknown settings: %(names)s.") % {"names": ", ".join(unknown)})
    spec: dict[str, Any] = {"kind": kind}
    if kind == TriggerKind.REGISTRATION:
        spec["channels"] = _codes(params, "channels")
    elif kind == TriggerKind.PURCHASE:
        spec["stores"] = _codes(params, "stores")
        spec["categories"] = _codes(params, "categories")
        if params.get("min_amount") not in (None, ""):
            try:
                amount = Decimal(str(params["min_amount"]))
            except InvalidOperation:
                amount = Decimal(-1)
            if not amount.is_finite() or amount < 0:
                raise _invalid(_g("the least amount must be a sum of money of 0 or more."))
            spec["min_amount"] = amount.quantize(Decimal("0.01"), ROUND_HALF_UP)
    elif kind == TriggerKind.STREAK_REACHED:
        spec["days"] = _int(params, "days", low=1, high=3650)
        if spec["days"] is None:
            raise _invalid(_g("give the day of the streak (days)."))
    elif kind == TriggerKind.TIER_CHANGE:
        spec["direction"] = _choice(params, "direction", ("up", "down", "any"), "any")
        spec["to_tiers"] = _codes(params, "to_tiers")
    elif kind == TriggerKind.TAG_CHANGE:
        tag = params.get("tag")
        if not isinstance(tag, str) or not tag.strip():
            raise _invalid(_g("name the tag (its code)."))
        spec["tag"] = tag.strip()
        spec["action"] = _choice(params, "action", ("added", "removed"), "added")
    elif kind == TriggerKind.LAPSE:
        spec["cycle"] = _choice(params, "cycle", ("", "member", "programme"), "")
        spec["days"] = _int(params, "days", low=1, high=3650)
        if spec["cycle"] and spec["days"] is not None:
            raise _invalid(_g("give either a number of days or a repurchase cycle, not both."))
        if not spec["cycle"] and spec["days"] is None:
            raise _invalid(_g("give a number of days or a repurchase cycle."))
        try:
            factor = Decimal(str(params.get("factor", 1)))
        except InvalidOperation:
            factor = Decimal(0)
        if not factor.is_finite() or not Decimal("0.1") <= factor <= Decimal(20):
            raise _invalid(_g("the factor of the repurchase cycle must be from 0.1 to 20."))
        spec["factor"] = factor
        spec["grace_days"] = _int(params, "grace_days", low=1, high=60, default=7)
    elif kind == TriggerKind.NEW_NO_PURCHASE:
        spec["days"] = _int(params, "days", low=1, high=365)
        if spec["days"] is None:
            raise _invalid(_g("give the number of days after registration."))
        spec["grace_days"] = _int(params, "grace_days", low=1, high=60, default=3)
    elif kind == TriggerKind.PAID_END:
        spec["days"] = _int(params, "days", low=-365, high=365)
        if spec["days"] is None:
            raise _invalid(_g("give the days before (negative) or after the end."))
        spec["grace_days"] = _int(params, "grace_days", low=1, high=60, default=7)
    elif kind == TriggerKind.POINTS_EXPIRING:
        spec["days"] = _int(params, "days", low=1, high=366)
        if spec["days"] is None:
            raise _invalid(_g("give the number of days before the points expire."))
    return TriggerSpec(**spec)


# --- events from a feed batch -------------------------------------------------------------

def trigger_events(spec: TriggerSpec, rows: Sequence[FeedRow]) -> list[TriggerEvent]:
    """The events a batch of the trigger's feed table holds, in feed order, for active
    members only. Set-based: one or two statements per batch, never one per row."""
    if not rows:
        return []
    if any(row.source != spec.source for row in rows):
        raise ValueError(f"a {spec.kind} trigger reads {spec.source}")
    events = _EVALUATE[spec.kind](spec, rows)
    active = _active_members({e.member_id for e in events})
    return [e for e in events if e.member_id in active]


def _active_members(member_ids: set[int]) -> set[int]:
    if not member_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM members_member WHERE id = ANY(%s) AND status = 'active'",
                       [list(member_ids)])
        return {r[0] for r in cursor.fetchall()}


def _registrations(spec: TriggerSpec, rows: Sequence[FeedRow]) -> list[TriggerEvent]:
    def wanted(channel: str) -> bool:
        return channel in spec.channels if spec.channels else channel != "import"

    return [TriggerEvent(spec.kind, r.member_id, "once",
                         {"registered_at": r.values["created_at"],
                          "channel": r.values["source_channel"]})
            for r in rows if wanted(r.values["source_channel"])]


def _first_purchases(spec: TriggerSpec, rows: Sequence[FeedRow]) -> list[TriggerEvent]:
    sales = [r for r in rows if r.values["kind"] == "sale"]
    if not sales:
        return []
    # the member's first sale by time (then id): an order imported late that is older than
    # the one already seen is also "first" — the occasion `once` keeps it to one action
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT o.id FROM members_order o
             WHERE o.id = ANY(%s)
               AND NOT EXISTS (SELECT 1 FROM members_order p
                                WHERE p.member_id = o.member_id AND p.kind = 'sale'
                                  AND (p.ordered_at, p.id) < (o.ordered_at, o.id))""",
                       [[r.id for r in sales]])
        first = {r[0] for r in cursor.fetchall()}
    return [TriggerEvent(spec.kind, r.member_id, "once",
                         {"order_id": r.id, "ordered_at": r.values["ordered_at"],
                          "net_amount": r.values["net_amount"]})
            for r in sales if r.id in first]


def _purchases(spec: TriggerSpec, rows: Sequence[FeedRow]) -> list[TriggerEvent]:
    sales = [r for r in rows if r.values["kind"] == "sale"]
    if not sales:
        return []
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT o.id, s.code FROM members_order o JOIN members_store s ON s.id = o.store_id
             WHERE o.id = ANY(%(ids)s)
               AND (cardinality(%(stores)s::text[]) = 0 OR s.code = ANY(%(stores)s::text[]))
               AND (%(min)s::numeric IS NULL OR o.net_amount >= %(min)s::numeric)
               AND (cardinality(%(cats)s::text[]) = 0 OR EXISTS (
                     SELECT 1 FROM members_orderline l
                      WHERE l.order_id = o.id AND l.category = ANY(%(cats)s::text[])))""",
                       {"ids": [r.id for r in sales], "stores": list(spec.stores),
                        "min": spec.min_amount, "cats": list(spec.categories)})
        matching = dict(cursor.fetchall())
    return [TriggerEvent(spec.kind, r.member_id, f"order:{r.id}",
                         {"order_id": r.id, "store": matching[r.id],
                          "ordered_at": r.values["ordered_at"],
                          "net_amount": r.values["net_amount"]})
            for r in sales if r.id in matching]


def _tier_changes(spec: TriggerSpec, rows: Sequence[FeedRow]) -> list[TriggerEvent]:
    tier_ids = {r.values[k] for r in rows for k in ("from_tier_id", "to_tier_id")} - {None}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, code, rank FROM tiers_tier WHERE id = ANY(%s)",
                       [list(tier_ids)])
        tiers = {r[0]: (r[1], r[2]) for r in cursor.fetchall()}
    events = []
    for r in rows:
        old, new = tiers.get(r.values["from_tier_id"]), tiers.get(r.values["to_tier_id"])
        # no tier before: an entry (up); no tier after: a withdrawal (down)
        direction = ("up" if old is None or (new is not None and new[1] > old[1])
                     else "down" if new is None or new[1] < old[1] else "same")
        if spec.direction != "any" and direction != spec.direction:
            continue
        if spec.to_tiers and (new is None or new[0] not in spec.to_tiers):
            continue
        events.append(TriggerEvent(spec.kind, r.member_id, f"tier:{r.id}", {
            "from_tier": old[0] if old else None, "to_tier": new[0] if new else None,
            "direction": direction, "reason": r.values["reason"],
            "changed_at": r.values["created_at"]}))
    return events


def _tag_changes(spec: TriggerSpec, rows: Sequence[FeedRow]) -> list[TriggerEvent]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM members_tag WHERE code = %s", [spec.tag])
        found = cursor.fetchone()
    if found is None:
        return []
    return [TriggerEvent(spec.kind, r.member_id, f"tag:{r.id}", {
                "tag": spec.tag, "action": r.values["action"], "cause": r.values["cause"],
                "changed_at": r.values["changed_at"]})
            for r in rows if r.values["tag_id"] == found[0] and r.values["action"] == spec.action]


def _streaks(spec: TriggerSpec, rows: Sequence[FeedRow]) -> list[TriggerEvent]:
    """A day's check-in (not a make-up) on the given day of the streak cycle."""
    return [TriggerEvent(spec.kind, r.member_id, f"streak:{r.id}", {
                "day": r.values["day"], "streak": r.values["streak"],
                "cycle_day": r.values["cycle_day"], "checked_in_at": r.values["created_at"]})
            for r in rows if r.values["kind"] == "daily" and r.values["cycle_day"] == spec.days]


_EVALUATE = {
    TriggerKind.REGISTRATION: _registrations,
    TriggerKind.FIRST_PURCHASE: _first_purchases,
    TriggerKind.PURCHASE: _purchases,
    TriggerKind.TIER_CHANGE: _tier_changes,
    TriggerKind.TAG_CHANGE: _tag_changes,
    TriggerKind.STREAK_REACHED: _streaks,
}
