"""The earning-rule engine: the one way points are paid for an event or a sale.

How rules combine (the same text is in the rule admin's help and in the docs):

1. The current, active versions of the rules for the event are taken in priority order
   (lower number first). A rule whose conditions fail gives nothing and says why. A rule
   that applies with "stop later rules" ends the list: rules after it are not evaluated.
2. Base rules give points: *fixed* points once per event, or *points per yuan* of the net
   paid on the lines in the rule's scope (rounded as the rule says). Points from several
   base rules add up.
3. Multiplier rules multiply the points of the lines in their scope; several multipliers
   on one line multiply each other (2× and 1.5× make 3×). The tier multiplier the intake
   passes applies last, to everything.
4. Caps (per member per day / week / month / year / lifetime, in Beijing time) and budgets
   count the points actually awarded, after every multiplier. A points cap trims the award
   to what is left — a multiplier's extra too —; a times cap or a spent budget gives
   nothing. When a cap or budget trims a multiplied award, each part of it (the base
   points, each multiplier's extra, the tier's) keeps the same share, and a multiplier's
   caps and budget count only the extra it really added.
5. Points are recorded per order line, so a return reverses what the returned lines earned.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from math import ceil, floor

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext_lazy as _

from core.clock import local_date, programme_tz, resolve_now
from members.models import Member, MemberTag

from ..locks import lock_accounts
from ..models.rules import (
    Beneficiary,
    CapPeriod,
    EarningRule,
    EntryLine,
    Formula,
    Rounding,
    RuleAward,
    RuleBudget,
    RuleEvent,
)
from .ledger import Movement, points_earn

STACKING_HELP = _(
    "Rules run in priority order (lower first); a rule set to stop later rules ends the "
    "list when it applies. Base rules (fixed points, or points per yuan of the net paid on "
    "the lines in scope) add up. Multipliers multiply the points of the lines they match "
    "and multiply each other; the member's tier multiplier applies last. Caps (per member "
    "per day, week, month, year or lifetime, in Beijing time) and budgets count the points "
    "actually awarded, after every multiplier: a points cap trims the award, a times cap or "
    "a spent budget gives nothing. A points cap trims a multiplier's extra too. When a cap "
    "trims a multiplied award, each part of it (the base points, each multiplier's extra, "
    "the tier's) keeps the same share, and a multiplier's caps and budget count only the "
    "extra it really added. Points are recorded per order line, so a return takes back what "
    "the returned lines earned. Every change to a rule creates a new version; past awards "
    "keep pointing at the version that paid them."
)
ONE = Decimal(1)
BUDGET_SHARDS = 8


class Reason:
    """Why a rule gave what it gave: stable codes for the API, words for people."""

    AWARDED = "awarded"
    CAPPED = "capped"
    CAP_REACHED = "cap_reached"
    BUDGET_SPENT = "budget_spent"
    OUT_OF_SCOPE = "out_of_scope"
    BELOW_MINIMUM = "below_minimum"
    OUTSIDE_WINDOW = "outside_window"
    WRONG_DAY = "wrong_day"
    TAG_MISSING = "tag_missing"
    MEMBER_STATUS = "member_status"
    MEMBER_FROZEN = "member_frozen"
    STOPPED = "stopped"
    NO_REFERRER = "no_referrer"
    NOTHING_TO_MULTIPLY = "nothing_to_multiply"
    DUPLICATE = "duplicate"

    TEXT = {
        AWARDED: _("awarded"),
        CAPPED: _("awarded up to the cap"),
        CAP_REACHED: _("cap reached"),
        BUDGET_SPENT: _("budget spent"),
        OUT_OF_SCOPE: _("nothing in the rule's scope (store, category or SKU)"),
        BELOW_MINIMUM: _("order below the minimum amount"),
        OUTSIDE_WINDOW: _("outside the rule's dates"),
        WRONG_DAY: _("not on one of the rule's days"),
        TAG_MISSING: _("member lacks the required tags"),
        MEMBER_STATUS: _("member status not eligible"),
        MEMBER_FROZEN: _("member frozen"),
        STOPPED: _("stopped by an earlier rule"),
        NO_REFERRER: _("the event names no referrer"),
        NOTHING_TO_MULTIPLY: _("no points to multiply on the matching lines"),
        DUPLICATE: _("duplicate event: already paid"),
    }


@dataclass(frozen=True)
class BasketLine:
    line_no: int
    sku: str
    category: str
    net_amount: Decimal
    order_line_id: int | None = None


@dataclass(frozen=True)
class EarnRequest:
    """An event or a sale to pay points for."""

    event: str
    member_id: int
    occurred_at: datetime
    custom_event: str = ""
    store_code: str | None = None
    lines: tuple[BasketLine, ...] = ()
    referrer_id: int | None = None
    tier_multiplier: Decimal = ONE       # the member's, from their benefits
    referrer_multiplier: Decimal = ONE   # the referrer's own, for what the referrer earns
    order_id: int | None = None
    streak_day: int | None = None        # a check-in streak's day within its cycle

    @property
    def order_total(self) -> Decimal:
        return sum((line.net_amount for line in self.lines), Decimal(0))

    def multiplier_for(self, beneficiary_id: int | None) -> Decimal:
        """Each member earns at their own benefit multiplier: a referral pays the referrer
        at the referrer's tier, not at the new member's."""
        if beneficiary_id is not None and beneficiary_id == self.referrer_id:
            return self.referrer_multiplier
        return self.tier_multiplier


@dataclass
class RuleResult:
    rule: EarningRule
    beneficiary_id: int | None
    points: int = 0
    reason: str = Reason.AWARDED
    detail: str = ""
    line_points: dict[int, int] = field(default_factory=dict)
    factor: Decimal = ONE
    # of a base rule's points, those the member's benefit (tier) multiplier added
    benefit_points: int = 0

    @property
    def reason_text(self) -> str:
        return str(Reason.TEXT.get(self.reason, self.reason))


@dataclass
class EarnOutcome:
    results: list[RuleResult]
    movements: dict[int, Movement]  # beneficiary member id → the entry written

    def points_for(self, member_id: int) -> int:
        return sum(r.points for r in self.results
                   if r.beneficiary_id == member_id and r.rule.formula != Formula.MULTIPLIER)

    def benefit_points_for(self, member_id: int) -> int:
        """Of the member's points, those their benefit multiplier added (the engine's own
        split of each award, so the cost per tier never re-derives it)."""
        return sum(r.benefit_points for r in self.results
                   if r.beneficiary_id == member_id and r.rule.formula != Formula.MULTIPLIER)


# --- conditions --------------------------------------------------------------------------------

def _line_in_scope(rule: EarningRule, line: BasketLine) -> bool:
    if rule.categories and line.category not in rule.categories:
        return False
    if rule.skus and line.sku not in rule.skus:
        return False
    if line.category in rule.exclude_categories or line.sku in rule.exclude_skus:
        return False
    return True


def _condition_failure(rule: EarningRule, request: EarnRequest, member: Member,
                       member_tags: set[int]) -> str | None:
    """The first condition the event fails, or None when the rule applies."""
    moment = request.occurred_at
    if (rule.valid_from and moment < rule.valid_from) or (rule.valid_until and moment >= rule.valid_until):
        return Reason.OUTSIDE_WINDOW
    local = moment.astimezone(programme_tz())
    if rule.weekdays and local.isoweekday() not in rule.weekdays:
        return Reason.WRONG_DAY
    if rule.month_days and local.day not in rule.month_days:
        return Reason.WRONG_DAY
    statuses = rule.member_statuses or [Member.Status.ACTIVE]
    if member.status == Member.Status.FROZEN:
        return Reason.MEMBER_FROZEN
    if member.status not in statuses:
        return Reason.MEMBER_STATUS
    if rule.tag_ids and not member_tags.intersection(rule.tag_ids):
        return Reason.TAG_MISSING
    if rule.store_codes and request.store_code not in rule.store_codes:
        return Reason.OUT_OF_SCOPE
    if rule.min_order_amount is not None and request.order_total < rule.min_order_amount:
        return Reason.BELOW_MINIMUM
    if request.lines and not any(_line_in_scope(rule, line) for line in request.lines):
        return Reason.OUT_OF_SCOPE
    if not request.lines and rule.formula in (Formula.PER_YUAN, Formula.MULTIPLIER):
        return Reason.OUT_OF_SCOPE
    return None


# --- caps and budgets --------------------------------------------------------------------------

def _period_start(period: str, moment: datetime):
    day = local_date(moment)
    if period == CapPeriod.DAY:
        return day
    if period == CapPeriod.WEEK:
        return day - timedelta(days=day.isoweekday() - 1)
    if period == CapPeriod.MONTH:
        return day.replace(day=1)
    if period == CapPeriod.YEAR:
        return day.replace(month=1, day=1)
    return None  # lifetime


def _period_end(period: str, start):
    """The first day after the period that begins on `start`."""
    if period == CapPeriod.DAY:
        return start + timedelta(days=1)
    if period == CapPeriod.WEEK:
        return start + timedelta(days=7)
    if period == CapPeriod.MONTH:
        return (start + timedelta(days=31)).replace(day=1)
    return start.replace(year=start.year + 1)


def _used(rule: EarningRule, member_id: int, moment: datetime) -> tuple[int, int]:
    """Times and points this rule (all versions) already gave the member in the period of
    `moment` (an event that arrives late counts against its own period, not later ones)."""
    awards = RuleAward.objects.filter(member_id=member_id, rule_key=rule.rule_key)
    start = _period_start(rule.cap_period, moment)
    if start is not None:
        awards = awards.filter(local_date__gte=start,
                               local_date__lt=_period_end(rule.cap_period, start))
    row = awards.aggregate(times=Count("id"), points=Sum("points"))
    return row["times"] or 0, row["points"] or 0


def _apply_cap(rule: EarningRule, member_id: int, points: int, moment: datetime) -> tuple[int, str]:
    if not rule.cap_period:
        return points, Reason.AWARDED
    times, used = _used(rule, member_id, moment)
    if rule.cap_times is not None and times >= rule.cap_times:
        return 0, Reason.CAP_REACHED
    if rule.cap_points is not None:
        left = max(rule.cap_points - used, 0)
        if left == 0:
            return 0, Reason.CAP_REACHED
        if points > left:
            return left, Reason.CAPPED
    return points, Reason.AWARDED


def budget_setup(*, rule_key: str, total: int) -> None:
    """Split a rule's budget over shards (what was spent stays spent)."""
    with transaction.atomic():
        shards = list(RuleBudget.objects.select_for_update().filter(rule_key=rule_key)
                      .order_by("shard"))
        spent = sum(s.spent for s in shards)
        left = max(total - spent, 0)
        if not shards:
            shards = [RuleBudget(rule_key=rule_key, shard=n, allotted=0, spent=0)
                      for n in range(BUDGET_SHARDS)]
        base, extra = divmod(left, len(shards))
        for n, shard in enumerate(shards):
            shard.allotted = shard.spent + base + (1 if n < extra else 0)
            shard.save()


def budget_left(rule_key: str) -> int | None:
    row = RuleBudget.objects.filter(rule_key=rule_key).aggregate(a=Sum("allotted"), s=Sum("spent"))
    return None if row["a"] is None else row["a"] - row["s"]


def _reserve_budget(rule_key: str, points: int, member_id: int) -> dict[int, int] | None:
    """Take `points` from the rule's budget, all or nothing, never overspending; returns
    what was taken from which shard (None when the budget cannot pay them).

    Earnings start at a shard chosen by member, so concurrent earnings under one rule lock
    different rows; only when no single shard has enough are the shards locked together
    (in order) and drawn down jointly.

    Each single-shard attempt runs in a savepoint that is rolled back when it fails: an
    UPDATE that waited for a concurrent writer and then found the shard too low still holds
    the row's lock, and such leftover locks (taken in member-rotated order) deadlock with
    the joint path's in-order locking.
    """
    if points <= 0:
        return {}
    start = member_id % BUDGET_SHARDS
    order = [(start + i) % BUDGET_SHARDS for i in range(BUDGET_SHARDS)]
    with connection.cursor() as cursor:
        for shard in order:
            with transaction.atomic():
                cursor.execute(
                    "UPDATE points_rulebudget SET spent = spent + %s "
                    "WHERE rule_key = %s AND shard = %s AND allotted - spent >= %s RETURNING id",
                    [points, rule_key, shard, points],
                )
                if row := cursor.fetchone():
                    return {row[0]: points}
                transaction.set_rollback(True)  # let go of a lock the failed attempt kept
        cursor.execute(
            "SELECT id, allotted - spent FROM points_rulebudget WHERE rule_key = %s "
            "ORDER BY shard FOR UPDATE", [rule_key])
        rows = cursor.fetchall()
        if sum(left for _id, left in rows) < points:
            return None
        need, taken = points, {}
        for shard_id, left in rows:
            take = min(left, need)
            if take:
                cursor.execute("UPDATE points_rulebudget SET spent = spent + %s WHERE id = %s",
                               [take, shard_id])
                taken[shard_id] = take
                need -= take
        return taken


def _release_budget(taken: dict[int, int], points: int) -> None:
    """Give back `points` of a reservation to the shards it came from (rows this
    transaction already holds), when the award turned out smaller than reserved."""
    with connection.cursor() as cursor:
        for shard_id, take in sorted(taken.items()):
            back = min(take, points)
            if back <= 0:
                break
            cursor.execute("UPDATE points_rulebudget SET spent = spent - %s WHERE id = %s",
                           [back, shard_id])
            points -= back


def _has_budget(rule: EarningRule) -> bool:
    return rule.budget_points is not None


# --- evaluation --------------------------------------------------------------------------------

def _rules_for(request: EarnRequest) -> list[EarningRule]:
    rules = EarningRule.objects.filter(event=request.event, is_current=True, is_active=True)
    if request.event in (RuleEvent.CUSTOM, RuleEvent.TASK_COMPLETED):
        rules = rules.filter(custom_event=request.custom_event)
    if request.event == RuleEvent.CHECKIN_STREAK:
        rules = rules.filter(streak_day=request.streak_day)
    return list(rules.order_by("priority", "id"))


def _beneficiaries(rule: EarningRule, request: EarnRequest) -> list[int | None]:
    if rule.beneficiary == Beneficiary.MEMBER:
        return [request.member_id]
    if rule.beneficiary == Beneficiary.REFERRER:
        return [request.referrer_id]
    return [request.member_id, request.referrer_id]


def _round(value: Fraction, rule: EarningRule) -> int:
    if rule.rounding == Rounding.UP:
        return ceil(value)
    if rule.rounding == Rounding.HALF_UP:
        return floor(value + Fraction(1, 2))
    return floor(value)


def _allocate(total: int, weights: dict[int, Fraction]) -> dict[int, int]:
    """Split an integer over keys in proportion to weights (largest remainder, ties to the
    lower key), exactly."""
    positive = {k: w for k, w in weights.items() if w > 0}
    if total <= 0 or not positive:
        return {}
    whole = sum(positive.values())
    shares = {k: total * w / whole for k, w in positive.items()}
    result = {k: floor(v) for k, v in shares.items()}
    left = total - sum(result.values())
    for k in sorted(shares, key=lambda k: (-(shares[k] - result[k]), k))[:left]:
        result[k] += 1
    return result


@dataclass
class _Multiplied:
    """A multiplier that applies: what it may add at most (after its own cap), what it
    reserved of its budget, and its exact share of each base award it multiplied."""

    result: RuleResult
    bound: int
    reserved: dict[int, int] | None
    parts: dict[int, Fraction] = field(default_factory=dict)  # id(base result) → exact extra


def _conditions(request: EarnRequest, rules: list[EarningRule]) -> tuple[list[RuleResult],
                                                                           list[RuleResult]]:
    """Every rule's result (failed conditions already explained) and those that apply."""
    ids = {request.member_id} | ({request.referrer_id} if request.referrer_id else set())
    members = {m.pk: m for m in Member.objects.filter(pk__in=ids).only("pk", "status")}
    tags: dict[int, set[int]] = defaultdict(set)
    for member_id, tag_id in MemberTag.objects.filter(member_id__in=ids).values_list("member_id", "tag_id"):
        tags[member_id].add(tag_id)

    results: list[RuleResult] = []
    stopped_by: EarningRule | None = None
    applicable: list[RuleResult] = []
    for rule in rules:
        for beneficiary in _beneficiaries(rule, request):
            result = RuleResult(rule=rule, beneficiary_id=beneficiary)
            results.append(result)
            if stopped_by is not None:
                result.reason, result.detail = Reason.STOPPED, stopped_by.name
                continue
            if beneficiary is None or beneficiary not in members:
                result.reason = Reason.NO_REFERRER
                continue
            failure = _condition_failure(rule, request, members[beneficiary], tags[beneficiary])
            if failure:
                result.reason = failure
                continue
            applicable.append(result)
        if rule.stop_further and any(r.rule is rule for r in applicable):
            stopped_by = rule
    return results, applicable


def _evaluate(request: EarnRequest, *, write: bool) -> list[RuleResult]:
    """Run the rules; with write=True also reserve budgets (the caller holds the locks).

    Each base award is split exactly into layers — its own points, the extra of each
    multiplier in priority order, the benefit multiplier's extra last — so that when a cap
    trims the award every layer keeps the same share of it, and a multiplier is recorded
    and charged for what it really added.
    """
    results, applicable = _conditions(request, _rules_for(request))

    # Base points per line (exact), per applicable base rule.
    base: dict[int, dict[int, Fraction]] = {}  # id(result) → line_no → exact points
    bases = [r for r in applicable if r.rule.formula != Formula.MULTIPLIER]
    for result in bases:
        rule = result.rule
        if rule.formula == Formula.PER_YUAN:
            rate = Fraction(rule.points_per_yuan)
            base[id(result)] = {line.line_no: Fraction(line.net_amount) * rate
                                for line in request.lines if _line_in_scope(rule, line)}
        else:
            base[id(result)] = {0: Fraction(rule.fixed_points)}

    # Multipliers, in priority order, each on the lines it matches of its member's awards.
    factors: dict[tuple[int | None, int], Fraction] = defaultdict(lambda: Fraction(1))
    multiplied: list[_Multiplied] = []
    for result in (r for r in applicable if r.rule.formula == Formula.MULTIPLIER):
        rule, who = result.rule, result.beneficiary_id
        lines = {line.line_no for line in request.lines if _line_in_scope(rule, line)}
        step = Fraction(rule.multiplier) - 1
        raw = {id(b): sum((points * factors[who, n] * step
                           for n, points in base[id(b)].items() if n in lines), Fraction(0))
               for b in bases if b.beneficiary_id == who}
        exact = sum(raw.values(), Fraction(0))
        if exact <= 0:
            result.reason = Reason.NOTHING_TO_MULTIPLY
            continue
        extra = _round(exact, rule)
        bound, reason = _apply_cap(rule, who, extra, request.occurred_at)
        if reason == Reason.CAP_REACHED:
            result.reason = reason
            continue
        reserved = None
        if _has_budget(rule):
            if write:
                reserved = _reserve_budget(rule.rule_key, bound, who)
                spent = reserved is None
            else:
                spent = (budget_left(rule.rule_key) or 0) < bound
            if spent:
                result.reason = Reason.BUDGET_SPENT
                continue
        # a points cap trims the multiplier: on its lines it multiplies by less
        share = Fraction(bound) / exact if reason == Reason.CAPPED else Fraction(1)
        for line_no in lines:
            factors[who, line_no] *= 1 + step * share
        multiplied.append(_Multiplied(result=result, bound=bound, reserved=reserved,
                                      parts={k: v * share for k, v in raw.items()}))
        result.points, result.reason, result.factor = bound, reason, rule.multiplier
        result.detail = f"×{rule.multiplier.normalize()}"

    # Base awards after every multiplier and the benefit multiplier, then caps and budgets.
    paid: dict[int, int] = defaultdict(int)  # id(_Multiplied) → points it really added
    for result in bases:
        rule, who = result.rule, result.beneficiary_id
        benefit = Fraction(request.multiplier_for(who))
        exact = {n: points * factors[who, n] * benefit for n, points in base[id(result)].items()}
        whole = sum(exact.values(), Fraction(0))
        points, reason = _apply_cap(rule, who, _round(whole, rule), request.occurred_at)
        if points > 0 and _has_budget(rule):
            ok = (_reserve_budget(rule.rule_key, points, who) is not None if write
                  else (budget_left(rule.rule_key) or 0) >= points)
            if not ok:
                points, reason = 0, Reason.BUDGET_SPENT
        result.points, result.reason = points, reason
        if rule.formula == Formula.FIXED and request.lines:
            weights = {line.line_no: Fraction(line.net_amount) for line in request.lines
                       if _line_in_scope(rule, line)}
        else:
            weights = {k: v for k, v in exact.items() if k != 0}
        result.line_points = _allocate(points, weights)
        if rule.formula == Formula.PER_YUAN:
            result.detail = f"{rule.points_per_yuan.normalize()}/¥"
        # the award in layers: 0 its own points, 1… each multiplier, last the benefit's
        unmultiplied = sum(base[id(result)].values(), Fraction(0))
        layers = {0: unmultiplied}
        for n, m in enumerate(multiplied, start=1):
            layers[n] = m.parts.get(id(result), Fraction(0))
        layers[len(multiplied) + 1] = whole - whole / benefit if benefit > 0 else Fraction(0)
        split = _allocate(points, layers)
        for n, m in enumerate(multiplied, start=1):
            paid[id(m)] += split.get(n, 0)
        result.benefit_points = split.get(len(multiplied) + 1, 0)

    # Each multiplier is what it added to the awards, never more than its cap let it add.
    for m in multiplied:
        added = min(paid[id(m)], m.bound)
        if m.reserved and added < m.bound:
            _release_budget(m.reserved, m.bound - added)
        if added == 0 and m.bound > 0:
            m.result.reason = Reason.NOTHING_TO_MULTIPLY
        elif added < m.bound:
            m.result.reason = Reason.CAPPED
        m.result.points = added
    return results


def rules_try(request: EarnRequest, *, now: datetime | None = None) -> list[RuleResult]:
    """What the rules would give, without writing anything (the admin's "try it")."""
    now = resolve_now(now)
    return _evaluate(request, write=False)


def rules_earn(request: EarnRequest, *, source_key: str, now: datetime | None = None,
               pending_days: int | None = None) -> EarnOutcome:
    """Pay an event or a sale through the rules: one entry per rewarded member, with the
    rule versions behind it (RuleAward) and, for a sale, the points per order line."""
    now = resolve_now(now)
    with transaction.atomic():
        ids = [request.member_id] + ([request.referrer_id] if request.referrer_id else [])
        ids = list(Member.objects.filter(pk__in=ids).values_list("pk", flat=True))
        lock_accounts(ids, now=now)  # caps are read and written under the members' locks
        results = _evaluate(request, write=True)
        by_member: dict[int, list[RuleResult]] = defaultdict(list)
        for result in results:
            if result.points > 0 and result.beneficiary_id is not None:
                by_member[result.beneficiary_id].append(result)
        movements: dict[int, Movement] = {}
        local = local_date(request.occurred_at)
        for member_id, rewarded in sorted(by_member.items()):
            total = sum(r.points for r in rewarded if r.rule.formula != Formula.MULTIPLIER)
            if total <= 0:
                continue
            who = "member" if member_id == request.member_id else "referrer"
            movement = points_earn(
                member_id=member_id, points=total, now=now, order_id=request.order_id
                if who == "member" else None, source_key=f"{source_key}:{who}",
                reason=request.custom_event if request.event in (
                    RuleEvent.CUSTOM, RuleEvent.TASK_COMPLETED) else request.event,
                pending_days=pending_days if who == "member" else 0,
            )
            if movement is None or not movement.created:
                continue
            movements[member_id] = movement
            RuleAward.objects.bulk_create(
                RuleAward(entry=movement.entry, rule=r.rule, rule_key=r.rule.rule_key,
                          member_id=member_id, points=r.points, detail=r.detail[:200],
                          local_date=local, created_at=now)
                for r in rewarded)
            if who == "member" and request.lines:
                per_line: dict[int, int] = defaultdict(int)
                for r in rewarded:
                    if r.rule.formula != Formula.MULTIPLIER:
                        for line_no, pts in r.line_points.items():
                            per_line[line_no] += pts
                line_ids = {line.line_no: line.order_line_id for line in request.lines}
                EntryLine.objects.bulk_create(
                    EntryLine(entry=movement.entry, order_line_id=line_ids[no], points=pts)
                    for no, pts in sorted(per_line.items()) if pts and line_ids.get(no))
    return EarnOutcome(results=results, movements=movements)
