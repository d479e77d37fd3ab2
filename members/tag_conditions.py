"""A tag rule's conditions as SQL over `members_member m LEFT JOIN members_memberstats s`.

Each condition becomes one boolean expression with %s parameters; a rule holds when all of
its conditions do. Missing statistics (a member who never bought) count as 0 orders and 0
spend and match no purchase date, RFM segment or lifecycle stage.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from core.clock import local_date, programme_tz

from .errors import MemberError, MemberErrorCode
from .models import ActivityKind, Lifecycle, Member, Tag, TagCondition
from .regions import region_matches

Kind = TagCondition.Kind
Stat = TagCondition.Statistic

_LIST_COLUMNS = {Kind.GENDER: "m.gender", Kind.CHANNEL: "m.source_channel",
                 Kind.RFM_SEGMENT: "s.rfm_segment", Kind.LIFECYCLE: "s.lifecycle"}
_STAT_COLUMNS = {Stat.ORDER_COUNT: "coalesce(s.order_count, 0)",
                 Stat.NET_SPEND: "coalesce(s.net_spend, 0)",
                 Stat.AVERAGE_SPEND: "coalesce(s.average_spend, 0)",
                 Stat.RETURN_COUNT: "coalesce(s.return_count, 0)",
                 Stat.CYCLE: "s.repurchase_cycle_days"}
_CHOICES = {Kind.GENDER: Member.Gender.values, Kind.CHANNEL: Member.Channel.values,
            Kind.LIFECYCLE: Lifecycle.values}


def _invalid(reason: str) -> MemberError:
    return MemberError(MemberErrorCode.INVALID_RULE, reason=reason)


def split_values(text: str) -> list[str]:
    return [v.strip() for v in (text or "").replace("，", ",").split(",") if v.strip()]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=programme_tz())


def validate(condition: TagCondition) -> None:
    """The admin form and compile() share this check: what each kind needs."""
    kind, values = condition.kind, split_values(condition.values)
    low, high = condition.minimum, condition.maximum
    if kind not in Kind.values:
        raise _invalid(f"unknown condition {kind!r}")
    if low is not None and high is not None and low > high:
        raise _invalid("the lower bound is above the upper bound")
    if kind in (Kind.AGE, Kind.STATISTIC) and low is None and high is None:
        raise _invalid("give a lower or an upper bound (or both)")
    if kind == Kind.STATISTIC and condition.statistic not in Stat.values:
        raise _invalid("choose the statistic")
    if kind not in (Kind.AGE, Kind.STATISTIC) and not values:
        raise _invalid("give at least one value")
    for value in values:
        if kind in _CHOICES and value not in _CHOICES[kind]:
            raise _invalid(f"“{value}” is not one of {', '.join(_CHOICES[kind])}")
    if kind in (Kind.CATEGORY, Kind.SKU) and not condition.days:
        raise _invalid("give the number of days")
    if kind == Kind.ACTIVITY:
        if len(values) != 1 or values[0] not in ActivityKind.values:
            raise _invalid(f"give one activity kind: {', '.join(ActivityKind.values)}")
        if condition.period not in TagCondition.Period.values:
            raise _invalid("choose the period")
        if condition.period == TagCondition.Period.DAYS and not condition.days:
            raise _invalid("give the number of days")
    if kind == Kind.TAG:
        known = set(Tag.objects.filter(code__in=values).values_list("code", flat=True))
        if missing := [v for v in values if v not in known]:
            raise _invalid(f"no such tag: {', '.join(missing)}")


def _between(expression: str, low: object, high: object) -> tuple[str, list]:
    parts, params = [], []
    if low is not None:
        parts.append(f"{expression} >= %s")
        params.append(low)
    if high is not None:
        parts.append(f"{expression} <= %s")
        params.append(high)
    return " AND ".join(parts), params


def compile_condition(condition: TagCondition, *, now: datetime) -> tuple[str, list]:
    validate(condition)
    sql, params = _compile(condition, now)
    if condition.negate:
        return f"NOT coalesce(({sql}), false)", params
    return f"coalesce(({sql}), false)", params


def _compile(c: TagCondition, now: datetime) -> tuple[str, list]:
    kind, values = c.kind, split_values(c.values)
    today = local_date(now)
    if kind in _LIST_COLUMNS:
        return f"{_LIST_COLUMNS[kind]} = ANY(%s)", [values]
    if kind == Kind.REGION:  # as stored: 上海市 finds 上海, a province its cities too
        return "m.region = ANY(%s)", [region_matches(values)]
    if kind == Kind.HOME_STORE:
        return ("m.home_store_id IN (SELECT id FROM members_store WHERE code = ANY(%s))",
                [values])
    if kind == Kind.TAG:
        ids = list(Tag.objects.filter(code__in=values).values_list("pk", flat=True))
        return ("EXISTS (SELECT 1 FROM members_membertag t "
                "WHERE t.member_id = m.id AND t.tag_id = ANY(%s))"), [ids]
    if kind == Kind.AGE:
        # aged at least N: born on or before today N years ago; at most N: born after
        # today N + 1 years ago
        parts, params = ["m.birthday IS NOT NULL"], []
        if c.minimum is not None:
            parts.append("m.birthday <= %s")
            params.append(_years_before(today, int(c.minimum)))
        if c.maximum is not None:
            parts.append("m.birthday > %s")
            params.append(_years_before(today, int(c.maximum) + 1))
        return " AND ".join(parts), params
    if kind == Kind.STATISTIC:
        if c.statistic in _STAT_COLUMNS:
            return _between(_STAT_COLUMNS[c.statistic], c.minimum, c.maximum)
        column = "s.last_purchase_at" if c.statistic == Stat.DAYS_SINCE_LAST else "s.first_purchase_at"
        # N days since: the purchase fell on the local day N days before today
        parts, params = [f"{column} IS NOT NULL"], []
        if c.minimum is not None:
            parts.append(f"{column} < %s")
            params.append(_start_of_local_day(today - timedelta(days=int(c.minimum) - 1)))
        if c.maximum is not None:
            parts.append(f"{column} >= %s")
            params.append(_start_of_local_day(today - timedelta(days=int(c.maximum))))
        return " AND ".join(parts), params
    if kind in (Kind.CATEGORY, Kind.SKU):
        column = "l.category" if kind == Kind.CATEGORY else "l.sku"
        since = _start_of_local_day(today - timedelta(days=int(c.days) - 1))
        return (f"""EXISTS (SELECT 1 FROM members_order o
                    JOIN members_orderline l ON l.order_id = o.id
                    WHERE o.member_id = m.id AND o.kind = 'sale' AND o.ordered_at >= %s
                      AND o.ordered_at <= %s AND {column} = ANY(%s))""",
                [since, now, values])
    if kind == Kind.ACTIVITY:
        if c.period == TagCondition.Period.MONTH:
            since = _start_of_local_day(today.replace(day=1))
        else:
            since = _start_of_local_day(today - timedelta(days=int(c.days) - 1))
        at_least = int(c.minimum) if c.minimum is not None else 1
        return ("""(SELECT count(*) FROM members_memberactivity a
                     WHERE a.member_id = m.id AND a.kind = %s AND a.occurred_at >= %s
                       AND a.occurred_at <= %s) >= %s""",
                [values[0], since, now, at_least])
    raise _invalid(f"unknown condition {kind!r}")  # pragma: no cover - validate() refused it


def compile_rule(conditions: list[TagCondition], *, now: datetime) -> tuple[str, list]:
    """All conditions together; a rule without conditions matches nobody."""
    if not conditions:
        return "false", []
    parts, params = [], []
    for condition in conditions:
        sql, p = compile_condition(condition, now=now)
        parts.append(sql)
        params.extend(p)
    return " AND ".join(parts), params


