"""The segment language: and / or / not over tags and attributes, with brackets.

    tag:vip and (gender:female or region:上海,北京) and not tag:churned and age:20-35

Terms: tag:<code>[,<code>…] (holds any of them), gender:, region:, store: (home store
code), channel: (source channel), status:, age:<from>-<to> (either end may be left out).
`not` binds tightest, then `and`, then `or`. A parsed expression compiles to one SQL
condition over members_segmentfacts f — the narrow copy of the member columns segments
filter on, tags through its GIN-indexed tag_ids array — and can be evaluated in Python for
a member and its tags (the tests compare the two).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from .errors import MemberError, MemberErrorCode
from .models import Member, Store, Tag

MAX_LENGTH = 4000
_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_KEYWORDS = {"and": "and", "or": "or", "not": "not", "且": "and", "或": "or", "非": "not"}
_AGE = re.compile(r"^(\d{1,3})?-(\d{1,3})?$|^(\d{1,3})$")
TERMS = ("tag", "gender", "region", "store", "channel", "status", "age")
_CHOICES = {"gender": Member.Gender.values, "channel": Member.Channel.values,
            "status": Member.Status.values}
_COLUMNS = {"gender": "f.gender", "region": "f.region", "channel": "f.source_channel",
            "status": "f.status"}


@dataclass(frozen=True)
class Term:
    key: str
    values: tuple  # tag ids, store ids, strings, or (min_age, max_age)


@dataclass(frozen=True)
class Op:
    op: str  # "and" | "or" | "not"
    items: tuple


def _invalid(reason: str) -> MemberError:
    return MemberError(MemberErrorCode.INVALID_SEGMENT, reason=reason)


def parse(text: str) -> Term | Op:
    if not isinstance(text, str) or not text.strip():
        raise _invalid("the definition is empty")
    if len(text) > MAX_LENGTH or "\x00" in text:
        raise _invalid(f"at most {MAX_LENGTH} characters")
    tokens = _TOKEN.findall(text)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def keyword(token: str | None) -> str | None:
        return _KEYWORDS.get(token.lower()) if token else None

    def expression(depth: int) -> Term | Op:
        if depth > 50:
            raise _invalid("brackets nested too deeply")
        items = [conjunction(depth)]
        while keyword(peek()) == "or":
            take()
            items.append(conjunction(depth))
        return items[0] if len(items) == 1 else Op("or", tuple(items))

    def conjunction(depth: int) -> Term | Op:
        items = [factor(depth)]
        while keyword(peek()) == "and":
            take()
            items.append(factor(depth))
        return items[0] if len(items) == 1 else Op("and", tuple(items))

    def factor(depth: int) -> Term | Op:
        token = peek()
        if token is None:
            raise _invalid("the definition ends too early")
        if keyword(token) == "not":
            take()
            return Op("not", (factor(depth + 1),))
        if token == "(":
            take()
            inner = expression(depth + 1)
            if peek() != ")":
                raise _invalid("a bracket is not closed")
            take()
            return inner
        if token == ")" or keyword(token):
            raise _invalid(f"unexpected “{token}”")
        take()
        return term(token)

    result = expression(0)
    if peek() is not None:
        raise _invalid(f"unexpected “{peek()}”")
    return result


def term(token: str) -> Term:
    key, sep, raw = token.partition(":")
    key = key.lower()
    if not sep or key not in TERMS:
        raise _invalid(f"“{token}” is not a term ({', '.join(t + ':' for t in TERMS)})")
    values = tuple(v for v in raw.replace("，", ",").split(",") if v)
    if not values:
        raise _invalid(f"“{token}” has no value")
    if key == "age":
        match = _AGE.match(raw)
        if not match:
            raise _invalid(f"“{token}”: write an age range like age:20-35")
        if match.group(3):
            low = high = int(match.group(3))
        else:
            low = int(match.group(1)) if match.group(1) else None
            high = int(match.group(2)) if match.group(2) else None
        if low is not None and high is not None and low > high:
            raise _invalid(f"“{token}”: the range is reversed")
        return Term("age", (low, high))
    if key in _CHOICES:
        if bad := [v for v in values if v not in _CHOICES[key]]:
            raise _invalid(f"“{bad[0]}” is not one of {', '.join(_CHOICES[key])}")
        return Term(key, values)
    if key == "tag":
        found = dict(Tag.objects.filter(code__in=values).values_list("code", "pk"))
        if missing := [v for v in values if v not in found]:
            raise _invalid(f"no such tag: {', '.join(missing)}")
        return Term("tag", tuple(sorted(found[v] for v in values)))
    if key == "store":
        found = dict(Store.objects.filter(code__in=values).values_list("code", "pk"))
        if missing := [v for v in values if v not in found]:
            raise _invalid(f"no such store: {', '.join(missing)}")
        return Term("store", tuple(sorted(found[v] for v in values)))
    return Term(key, values)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age_bounds(low: int | None, high: int | None, today: date) -> tuple[date | None, date | None]:
    """Born on or before the first date (aged at least low), after the second (at most high)."""
    return (_years_before(today, low) if low is not None else None,
            _years_before(today, high + 1) if high is not None else None)


def to_sql(node: Term | Op, today: date) -> tuple[str, list]:
    if isinstance(node, Op):
        parts = [to_sql(item, today) for item in node.items]
        params = [p for _, ps in parts for p in ps]
        if node.op == "not":
            return f"NOT ({parts[0][0]})", params
        return "(" + f" {node.op.upper()} ".join(sql for sql, _ in parts) + ")", params
    if node.key == "tag":
        return "f.tag_ids && %s::bigint[]", [list(node.values)]
    if node.key == "store":
        return "coalesce(f.home_store_id = ANY(%s), false)", [list(node.values)]
    if node.key == "age":
        oldest_born, youngest_born = _age_bounds(*node.values, today)
        parts, params = ["f.birthday IS NOT NULL"], []
        if oldest_born is not None:
            parts.append("f.birthday <= %s")
            params.append(oldest_born)
        if youngest_born is not None:
            parts.append("f.birthday > %s")
            params.append(youngest_born)
        return "(" + " AND ".join(parts) + ")", params
    return f"{_COLUMNS[node.key]} = ANY(%s)", [list(node.values)]


def matches(node: Term | Op, member: Member, tag_ids: Collection[int], today: date) -> bool:
    """The same expression evaluated in Python for one member holding the tags `tag_ids`
    (tests, explanations)."""
    if isinstance(node, Op):
        results = (matches(item, member, tag_ids, today) for item in node.items)
        if node.op == "not":
            return not next(results)
        return all(results) if node.op == "and" else any(results)
    if node.key == "tag":
        return bool(set(tag_ids) & set(node.values))
    if node.key == "store":
        return member.home_store_id in node.values
    if node.key == "age":
        if member.birthday is None:
            return False
        oldest_born, youngest_born = _age_bounds(*node.values, today)
        return ((oldest_born is None or member.birthday <= oldest_born)
                and (youngest_born is None or member.birthday > youngest_born))
    value = {"gender": member.gender, "region": member.region,
             "channel": member.source_channel, "status": member.status}[node.key]
    return value in node.values
