"""Every admin form and every admin page that reads input, fed random and hostile input as a
superuser (Hypothesis): no answer is a 500, and a refused form writes nothing.

The targets come from the admin itself, so a model, a page or an action added later is
fuzzed without touching this file: each registered model's add page and change page (for
the object the admin world holds), each page an admin adds of its own (from the URL conf),
each action's form, and each list with random search terms, filters, ordering and page
numbers. A form is read from its page (tests/admin_forms.py) and posted with each field
kept, emptied, or replaced by random text, numbers, dates and known troublemakers (NaN,
1e30, ², bidi overrides, NUL, deep brackets).

Few examples per target and a fixed derivation (derandomize) keep the run short and the
same in CI; a failure names the page and the input.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from members.models import Member
from tests.admin_forms import Form, read_forms
from tests.loyalty.admin_world import World, build_world

pytestmark = pytest.mark.django_db

FORM_EXAMPLES = 2
LIST_EXAMPLES = 2
STANDARD = {"changelist", "add", "change", "delete", "history"}
SKIPPED_FIELDS = {"csrfmiddlewaretoken"}
# the programme's tables: a refused form must leave every one of them as it was
TABLE_PREFIXES = ("members_", "points_", "tiers_", "campaigns_", "loyalty_")

TROUBLE = [
    "", " ", "0", "-1", "1", "²", "١٢", "４２", "NaN", "sNaN", "Infinity", "-Infinity", "1e30",
    "1E+9999", "9" * 30, "-" + "9" * 25, "0.001", "1,000", "1.5", "-0", "2026-02-30",
    "2026-13-01", "9999-12-31", "0001-01-01", "1900-01-01", "25:61", "2026-03-14 10:30",
    "\u202e", "a\r\nb", "\x00", "%", "'", '"', "<script>alert(1)</script>", "(" * 60,
    "not " * 474 + "tag:x", "tag:", "#99999999999999999999", "\t", "=1+1", "1" * 25,
    "13800138000", "+86 138 0013 8000", "x" * 300, "None", "true", "[]", "{}",
]
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
NUMBER = st.one_of(st.integers(-(10**20), 10**20).map(str),
                   st.decimals(allow_nan=True, allow_infinity=True).map(str))
ANY = st.one_of(st.sampled_from(TROUBLE), TEXT, NUMBER)
RUN = settings(max_examples=FORM_EXAMPLES, derandomize=True, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))


def fuzz(check, strategy, examples: int = FORM_EXAMPLES, explicit: tuple = ()) -> None:
    """Run `check` on the `explicit` inputs and `examples` more drawn from `strategy`, each
    in a transaction of its own that is rolled back, so no example sees another's writes."""

    @settings(RUN, max_examples=examples)
    @given(strategy)
    def run(value):
        with transaction.atomic():
            try:
                check(value)
            finally:
                transaction.set_rollback(True)

    for value in reversed(explicit):
        run = example(value)(run)
    run()


# What used to answer 500 (², NaN, 1e30, NUL) is tried on every field of every target,
# whatever Hypothesis draws: two inputs, each giving the fields these in turn.
EVERYWHERE = ("²", "NaN", "1e30", "\x00")


def in_turn(names, shift: int) -> dict[str, str]:
    return {name: EVERYWHERE[(i + shift) % len(EVERYWHERE)] for i, name in enumerate(names)}


def field_values(form: Form, name: str) -> st.SearchStrategy:
    kind = form.kinds.get(name, "text")
    kept = st.just(form.fields.get(name, []))
    if kind in ("checkbox", "radio"):
        return st.one_of(kept, st.just([]), st.lists(st.sampled_from(form.options[name]),
                                                      max_size=2, unique=True))
    if kind in ("select", "select-multiple"):
        choices = [o for o in form.options[name]] or [""]
        chosen = st.lists(st.sampled_from(choices), min_size=1, max_size=2, unique=True)
        return st.one_of(kept, chosen, ANY.map(lambda v: [v]))
    if kind == "hidden" and re.search(r"-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$", name):
        return st.one_of(kept, kept, st.sampled_from(["", "abc", "-1", "1001", "²"])
                         .map(lambda v: [v]))
    return st.one_of(kept, st.just([""]), ANY.map(lambda v: [v]))


def form_input(form: Form) -> st.SearchStrategy:
    names = [n for n in form.fields if n not in SKIPPED_FIELDS]
    values = st.fixed_dictionaries({name: field_values(form, name) for name in names})
    files = st.fixed_dictionaries({name: st.one_of(st.none(), st.binary(max_size=200))
                                   for name in form.files})
    return st.tuples(values, files)


def encoded(form: Form, drawn) -> dict:
    values, files = drawn
    data = {name: value for name, value in values.items() if value}
    if "csrfmiddlewaretoken" in form.fields:
        data["csrfmiddlewaretoken"] = form.fields["csrfmiddlewaretoken"]
    for name, content in files.items():
        if content is not None:
            data[name] = SimpleUploadedFile("fuzz.csv", content)
    return data


def row_counts() -> tuple:
    with connection.cursor() as cursor:
        tables = sorted(t for t in connection.introspection.table_names()
                        if t.startswith(TABLE_PREFIXES))
        cursor.execute("SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables))
        return tuple(zip(tables, cursor.fetchone()))


REFUSED = ('class="errornote"', 'class="errorlist', 'class="error"')


def refused(response) -> bool:
    return response.status_code == 200 and any(mark in response.content.decode()
                                               for mark in REFUSED)


def main_form(html: str) -> Form | None:
    """The page's own form: the one with the most fields, not the header's log-out form."""
    forms = [f for f in read_forms(html) if f.id != "logout-form"
             and (f.fields or f.files) and f.id != "changelist-search"]
    return max(forms, key=lambda f: len(f.fields) + len(f.files), default=None)


def post_fuzz(client: Client, url: str, label: str) -> int:
    """Fuzz the form of the page at `url`: GET forms through their query, POST forms
    through their body. Returns the number of forms fuzzed (0 or 1)."""
    page = client.get(url)
    if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
        return 0
    form = main_form(page.content.decode())
    if form is None:
        return 0
    target = form.action or url

    def check(drawn):
        data = encoded(form, drawn)
        if form.method == "get":
            response = client.get(target, {k: v for k, v in data.items()
                                           if not hasattr(v, "read")})
            assert response.status_code < 500, f"{label}: GET {data!r}"
            return
        before = row_counts()
        response = client.post(target, data)
        assert response.status_code < 500, f"{label}: POST {data!r}"
        if refused(response):
            assert row_counts() == before, f"{label}: refused but wrote: {data!r}"

    names = [n for n in form.fields if n not in SKIPPED_FIELDS
             and form.kinds.get(n) not in ("hidden", "checkbox", "radio")]
    kept = {n: form.fields[n] for n in form.fields if n not in SKIPPED_FIELDS}
    explicit = tuple(({**kept, **{n: [v] for n, v in in_turn(names, shift).items()}},
                      {n: None for n in form.files}) for shift in (0, 1))
    fuzz(check, form_input(form), explicit=explicit)
    return 1


def sample(model, world: World):
    if model is User:
        return world.users[next(iter(world.users))]
    if model is Member:
        return world.member
    if hasattr(model, "load"):
        return model.load()
    return model.objects.order_by("pk").first()


def superuser_client() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("fuzz", password="x"))
    return client


def model_admins():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def test_every_add_and_change_form_survives_random_input():
    world = build_world()
    client = superuser_client()
    fuzzed = 0
    for model, _model_admin in model_admins():
        opts = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        obj = sample(model, world)
        for kind, args in (("add", []), ("change", [obj.pk] if obj else None)):
            try:
                url = reverse(f"{prefix}_{kind}", args=args) if args is not None else None
            except NoReverseMatch:  # an admin without that page
                continue
            if url:
                fuzzed += post_fuzz(client, url, f"{opts.label} {kind}")
    assert fuzzed > 40  # every editable model has at least one form


def own_pages(world: World):
    """(label, path) of every page an admin adds of its own, from the URL conf."""
    site = next(p for p in get_resolver().url_patterns
                if isinstance(p, URLResolver) and p.namespace == "admin")
    registry = {(m._meta.app_label, m._meta.model_name): m for m in admin.site._registry}
    for entry in site.url_patterns:
        if isinstance(entry, URLPattern):
            continue
        app_label, model_name = str(entry.pattern).strip("/").split("/")
        model = registry[(app_label, model_name)]
        prefix = f"{app_label}_{model_name}_"
        for pattern in entry.url_patterns:
            name = pattern.name
            if name is None or name.removeprefix(prefix) in STANDARD:
                continue
            obj = sample(model, world)
            if obj is None and pattern.pattern.converters:
                continue
            args = [obj.pk] * len(pattern.pattern.converters) if obj else []
            yield f"{model._meta.label} {name}", reverse(f"admin:{name}", args=args)


def test_every_page_of_its_own_and_every_action_survives_random_input():
    world = build_world()
    client = superuser_client()
    pages = list(own_pages(world))
    assert len(pages) >= 12  # counted when this was written: 15
    for label, path in pages:
        post_fuzz(client, path, label)
        # the query string too: pages read ?month=, ?expression=, t<id>= …
        fuzz(lambda value, path=path, label=label: _get_ok(
            client, path, {"month": value, "expression": value, "q": value}, label),
             ANY, examples=2)
    for model, model_admin in model_admins():
        obj = sample(model, world)
        if obj is None:
            continue
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}"
                             "_changelist")
        for _action, name, _description in model_admin._get_base_actions():
            if name == "delete_selected":
                continue

            def check(extra, name=name, changelist=changelist, obj=obj):
                data = {"action": name, "_selected_action": [str(obj.pk)], "index": "0",
                        "apply": "1", **extra}
                before = row_counts()
                response = client.post(changelist, data)
                assert response.status_code < 500, f"{model._meta.label} action {name}: {data}"
                if refused(response):
                    assert row_counts() == before, f"action {name} refused but wrote: {data}"

            fields = st.dictionaries(st.sampled_from(["tag", "points", "reason", "note", "plan",
                                                      "select_across", "quantity", "member"]),
                                     ANY, max_size=3)
            fuzz(check, fields, examples=2)


def _get_ok(client: Client, path: str, params: dict, label: str) -> None:
    response = client.get(path, params)
    assert response.status_code < 500, f"{label}: GET {params!r}"


def test_every_list_survives_random_search_filters_and_ordering():
    world = build_world()  # noqa: F841  (rows for the lists to show)
    client = superuser_client()
    for model, _model_admin in model_admins():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = client.get(url)
        if page.status_code != 200 or page.context is None or "cl" not in page.context:
            continue
        changelist = page.context["cl"]
        names = sorted({name for spec in changelist.filter_specs
                        for name in spec.expected_parameters()})
        if changelist.date_hierarchy:
            field = changelist.date_hierarchy
            names += [f"{field}__year", f"{field}__month", f"{field}__day"]
        params = st.fixed_dictionaries(
            {"q": ANY},
            optional={**{name: ANY for name in names},
                      "o": st.one_of(st.sampled_from(["1", "-1", "1.2", "99", "x", "-", "1.1"]),
                                     ANY),
                      "p": st.one_of(st.sampled_from(["0", "2", "-1", "999999", "x"]), ANY),
                      "e": ANY, "_facets": st.just("1"), "all": st.just("")})
        explicit = tuple(in_turn(["q", "o", "p", *names], shift) for shift in (0, 1))
        fuzz(lambda query, url=url, label=model._meta.label: _get_ok(client, url, query, label),
             params, examples=LIST_EXAMPLES, explicit=explicit)
