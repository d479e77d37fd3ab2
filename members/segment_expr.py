"""The segment language: and / or / not over tags and attributes, with brackets.

    tag:高消费 and (gender:female or region:上海,北京) and not tag:churned and age:20-35

Terms: tag:<tag>[,<tag>…] (holds any of them) — a tag is its code, its name when exactly
one tag bears it, or #<id>; gender:, region: (written any way members.regions recognises:
上海市 is 上海, and a province covers its prefecture-level cities), store: (home store code
or #<id>), channel: (source channel), status:, age:<from>-<to> (either end may be left out).
`not` (非) binds tightest, then `and` (且), then `or` (或).

A definition is kept in its stored form (stored_form): the operator's text with every tag
and store replaced by its #id, so renaming a tag or changing a code changes no segment;
display_forms writes the ids back as the current names and codes. A parsed expression
compiles to one SQL condition over members_segmentfacts f — the narrow copy of the member
columns segments filter on, tags through its GIN-indexed tag_ids array — and can be
evaluated in Python for a member and its tags (the tests compare the two).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .errors import MemberError, MemberErrorCode
from .models import Member, Store, Tag
from .regions import region_known, region_matches, region_normalise

MAX_LENGTH = 4000
# Brackets and `not`s nest at most this deep: the parser, the SQL and the Python evaluation
# recurse once per level, and 474 chained `not`s fit in MAX_LENGTH.
MAX_DEPTH = 50
_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_KEYWORDS = {"and": "and", "or": "or", "not": "not", "且": "and", "或": "or", "非": "not"}
_AGE = re.compile(r"^([0-9]{1,3})?-([0-9]{1,3})?$|^([0-9]{1,3})$")
_ID = re.compile(r"^#([0-9]{1,18})$")
_UNSAFE_NAME = re.compile(r"[\s(),，]")
TERMS = ("tag", "gender", "region", "store", "channel", "status", "age")
_REFERENCES = ("tag", "store")  # the terms whose values are stored as #ids
_CHOICES = {"gender": Member.Gender.values, "channel": Member.Channel.values,
            "status": Member.Status.values}
_COLUMNS = {"gender": "f.gender", "channel": "f.source_channel", "status": "f.status"}
_LIST_SEPARATOR = pgettext_lazy("list separator", ", ")


@dataclass(frozen=True)
class Term:
    key: str
    values: tuple  # tag ids, store ids, regions as stored, strings, or (min_age, max_age)


@dataclass(frozen=True)
class Op:
    op: str  # "and" | "or" | "not"
    items: tuple


def _invalid(reason, **params) -> MemberError:
    """The reason stays lazy, so the message is in the language of whoever reads it."""
    return MemberError(MemberErrorCode.INVALID_SEGMENT,
                       reason=format_lazy(reason, **params) if params else reason)


class _Joined:
    """Items joined with the active language's list separator when shown."""

    def __init__(self, items: Iterable):
        self.items = list(items)

    def __str__(self) -> str:
        return str(_LIST_SEPARATOR).join(str(item) for item in self.items)


def _split(raw: str) -> list[str]:
    return [v for v in raw.replace("，", ",").split(",") if v]


def parse(text: str, references: _References | None = None) -> Term | Op:
    if not isinstance(text, str) or not text.strip():
        raise _invalid(_("the definition is empty"))
    if len(text) > MAX_LENGTH or "\x00" in text:
        raise _invalid(_("at most {n} characters"), n=MAX_LENGTH)
    tokens = _TOKEN.findall(text)
    references = references or _References(text)
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
        if depth > MAX_DEPTH:
            raise _invalid(_("brackets and “not” nested too deeply (at most {n} levels)"),
                           n=MAX_DEPTH)
        token = peek()
        if token is None:
            raise _invalid(_("the definition ends too early"))
        if keyword(token) == "not":
            take()
            return Op("not", (factor(depth + 1),))
        if token == "(":
            take()
            inner = expression(depth + 1)
            if peek() != ")":
                raise _invalid(_("a bracket is not closed"))
            take()
            return inner
        if token == ")" or keyword(token):
            raise _invalid(_("unexpected “{token}”"), token=token)
        take()
        return term(token, references)

    result = expression(0)
    if peek() is not None:
        raise _invalid(_("unexpected “{token}”"), token=peek())
    return result


def term(token: str, references: _References) -> Term:
    key, sep, raw = token.partition(":")
    key = key.lower()
    if not sep or key not in TERMS:
        raise _invalid(_("“{token}” is not a term ({terms})"), token=token,
                       terms=_Joined(t + ":" for t in TERMS))
    values = tuple(_split(raw))
    if not values:
        raise _invalid(_("“{token}” has no value"), token=token)
    if key == "age":
        match = _AGE.match(raw)
        if not match:
            raise _invalid(_("“{token}”: write an age range like age:20-35"), token=token)
        if match.group(3):
            low = high = int(match.group(3))
        else:
            low = int(match.group(1)) if match.group(1) else None
            high = int(match.group(2)) if match.group(2) else None
        if low is not None and high is not None and low > high:
            raise _invalid(_("“{token}”: the range is reversed"), token=token)
        return Term("age", (low, high))
    if key in _CHOICES:
        if bad := [v for v in values if v not in _CHOICES[key]]:
            raise _invalid(_("“{value}” is not one of {choices}"), value=bad[0],
                           choices=_Joined(_CHOICES[key]))
        return Term(key, values)
    if key in _REFERENCES:
        return Term(key, tuple(sorted(set(references.ids(key, values).values()))))
    return Term("region", tuple(dict.fromkeys(region_normalise(v) for v in values)))


def _ids(values: Iterable[str]) -> dict[str, int]:
    return {v: int(m.group(1)) for v in values if (m := _ID.match(v))}


class _References:
    """Every tag and store a definition names, looked up together on first need: two
    queries per definition, however many terms it has."""

    def __init__(self, text: str):
        self.text = text
        self._found: dict[str, dict] | None = None

    def ids(self, key: str, values: Collection[str]) -> dict[str, int]:
        if self._found is None:
            written: dict[str, set[str]] = {"tag": set(), "store": set()}
            for ref_key, value in _references(self.text):
                written[ref_key].add(value)
            self._found = {"tag": _tag_lookup(written["tag"]),
                           "store": _store_lookup(written["store"])}
        found = self._found[key]
        if key == "tag":
            for value in values:
                if isinstance(found.get(value), list):
                    raise _ambiguous(value, found[value])
        if missing := [v for v in values if found.get(v) is None]:
            if key == "tag":
                raise _invalid(_("no such tag: {tags}"), tags=_Joined(missing))
            raise _invalid(_("no such store: {stores}"), stores=_Joined(missing))
        return {v: found[v] for v in values}


def _tag_lookup(values: Collection[str]) -> dict[str, int | list[Tag] | None]:
    """Each written tag → its id (#id, else the code, else the name one tag alone bears),
    the tags sharing the name when several do, or None."""
    if not values:
        return {}
    ids = _ids(values)
    words = [v for v in values if v not in ids]
    tags = list(Tag.objects.filter(Q(pk__in=ids.values()) | Q(code__in=words)
                                   | Q(name__in=words)).select_related("group"))
    by_id = {t.pk: t.pk for t in tags}
    by_code = {t.code: t.pk for t in tags}
    found: dict[str, int | list[Tag] | None] = {}
    for value in values:
        if value in ids:
            found[value] = by_id.get(ids[value])
        elif value in by_code:
            found[value] = by_code[value]
        else:
            named = [t for t in tags if t.name == value]
            found[value] = named if len(named) > 1 else named[0].pk if named else None
    return found


def _ambiguous(name: str, tags: list[Tag]) -> MemberError:
    tags = sorted(tags, key=lambda t: (t.group is None, t.group.name if t.group else "", t.code))
    return _invalid(_("{count} tags are named “{name}”: {candidates}. Write the code of the "
                      "one you mean."),
                    count=len(tags), name=name, candidates=_Joined(_candidate(t) for t in tags))


def _candidate(tag: Tag):
    if tag.group is None:
        return format_lazy(_("code “{code}” (no group)"), code=tag.code)
    return format_lazy(_("code “{code}” in group {group}"), code=tag.code, group=tag.group.name)


def _store_lookup(values: Collection[str]) -> dict[str, int | None]:
    """Each written store → its id: #id, else the store code; or None."""
    if not values:
        return {}
    ids = _ids(values)
    codes = [v for v in values if v not in ids]
    stores = list(Store.objects.filter(Q(pk__in=ids.values()) | Q(code__in=codes))
                  .values_list("pk", "code"))
    known, by_code = {pk for pk, _code in stores}, {code: pk for pk, code in stores}
    return {v: (ids[v] if ids[v] in known else None) if v in ids else by_code.get(v)
            for v in values}


def _references(text: str) -> Iterable[tuple[str, str]]:
    for token in _TOKEN.findall(text):
        key, sep, raw = token.partition(":")
        if sep and key.lower() in _REFERENCES:
            for value in _split(raw):
                yield key.lower(), value


def rewrite_references(text: str, label: Callable[[str, str], str]) -> str:
    """The text with each tag and store value replaced by label(key, value); brackets,
    keywords and spacing as the operator wrote them."""

    def replace(match: re.Match) -> str:
        token = match.group(0)
        key, sep, raw = token.partition(":")
        if not sep or key.lower() not in _REFERENCES:
            return token
        return f"{key}:" + ",".join(label(key.lower(), value) for value in _split(raw))

    return _TOKEN.sub(replace, text)


def stored_form(text: str) -> str:
    """The definition as a segment keeps it: checked, then every tag and store as its #id
    (tag:高消费 and store:SH001 → tag:#12 and store:#3)."""
    references = _References(text)
    parse(text, references)
    stored = rewrite_references(text,
                                lambda key, value: f"#{references.ids(key, [value])[value]}")
    if len(stored) > MAX_LENGTH:
        raise _invalid(_("at most {n} characters"), n=MAX_LENGTH)
    return stored


def display_forms(texts: list[str]) -> list[str]:
    """Stored definitions as the operator reads them: each #id as the tag's current name
    (its code where the name would not read back as the same tag) or the store's code. An
    id whose tag or store was deleted stays #id. Two queries for any number of texts."""
    wanted: dict[str, set[int]] = {"tag": set(), "store": set()}
    for text in texts:
        for key, value in _references(text):
            if match := _ID.match(value):
                wanted[key].add(int(match.group(1)))
    labels = {"tag": _tag_labels(wanted["tag"]) if wanted["tag"] else {},
              "store": dict(Store.objects.filter(pk__in=wanted["store"])
                            .values_list("pk", "code")) if wanted["store"] else {}}

    def label(key: str, value: str) -> str:
        match = _ID.match(value)
        return labels[key].get(int(match.group(1)), value) if match else value

    return [rewrite_references(text, label) for text in texts]


def display_form(text: str) -> str:
    return display_forms([text])[0]


def _tag_labels(ids: set[int]) -> dict[int, str]:
    tags = list(Tag.objects.filter(pk__in=ids).values_list("pk", "code", "name"))
    names = {name for _pk, _code, name in tags}
    holders: dict[str, set[int]] = {}
    for pk, code, name in Tag.objects.filter(Q(name__in=names) | Q(code__in=names)) \
            .values_list("pk", "code", "name"):
        holders.setdefault(name, set()).add(pk)
        holders.setdefault(code, set()).add(pk)
    return {pk: name if (name and not _UNSAFE_NAME.search(name) and not _ID.match(name)
                         and holders.get(name) == {pk}) else code
            for pk, code, name in tags}


def hints(node: Term | Op) -> list:
    """What is allowed but probably not meant: a region the table does not know finds only
    members whose region is written exactly so."""
    if isinstance(node, Op):
        return [hint for item in node.items for hint in hints(item)]
    if node.key != "region":
        return []
    return [format_lazy(_("“{region}” is not a province or prefecture-level city of China; "
                          "it finds only members whose region is written exactly so."),
                        region=value)
            for value in node.values if not region_known(value)]


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
    if node.key == "region":
        return "f.region = ANY(%s)", [region_matches(node.values)]
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
    if node.key == "region":
        return member.region in region_matches(node.values)
    value = {"gender": member.gender, "channel": member.source_channel,
             "status": member.status}[node.key]
    return value in node.values
