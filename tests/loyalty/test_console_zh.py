"""The console reads as Chinese: every list, change page and custom page of the admin, as
each role that may open it, shows no English of the console's own — no message of our
catalogue left untranslated, no column title, label, heading or button in English (short
codes such as ID or SKU aside), no "Model object (1)"."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

import polib
import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from loyalty import roles
from tests.loyalty.console_data import build_console_data
from tests.loyalty.console_html import Text, page_texts
from tiers.models import Tier

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Words that stay as they are in Chinese text: abbreviations, units, code names.
ALLOWED_WORDS = {"ID", "SKU", "API", "RFM", "CSV", "URL", "CNY", "UTC", "JSON", "SMS", "VIP",
                 "OK", "QR", "POS", "E"}
# words are runs of letters with a lower-case one; codes (SH001, PAY-1, a key's prefix
# 4f60eb5f) are upper case or hold digits
TOKEN = re.compile(r"[A-Za-z0-9]+")
ENGLISH_WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")
# celery beat's own name for a crontab: "10 0 * * * (m/h/dM/MY/d) Asia/Shanghai"
CRONTAB_NAME = re.compile(r"\(m/h/dM/MY/d\)|\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b")
NO_STR = re.compile(r"\b[A-Z][A-Za-z]+ object \(\d+\)")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdf]|%[sd]|\{[a-z_]*\}")
# clerks open no admin page: their console is the counter (test_every_counter_page_…)
ROLES = ("superuser", roles.OPERATORS, roles.FINANCE)


@cache
def untranslated_patterns() -> tuple[frozenset[str], tuple[re.Pattern, ...]]:
    """The catalogue's messages whose Chinese differs from the English: plain ones as a set,
    ones with placeholders as patterns matching any filled-in text."""
    po = polib.pofile(str(ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    plain, patterns = set(), []
    for entry in po:
        if entry.obsolete or not entry.msgstr or entry.msgstr == entry.msgid:
            continue
        msgid = " ".join(entry.msgid.split())
        if PLACEHOLDER.search(msgid):
            parts = PLACEHOLDER.split(msgid)
            if sum(len(p.strip()) for p in parts) >= 6:
                fills = [r"[-+\d,.]+" if p.endswith("d") else ".+?"
                         for p in PLACEHOLDER.findall(msgid)] + [""]
                patterns.append(re.compile("".join(re.escape(p) + f
                                                   for p, f in zip(parts, fills))))
        elif re.search("[A-Za-z]{2,}", msgid):
            plain.add(msgid)
    return frozenset(plain), tuple(patterns)


def problems_in(texts: list[Text], data: frozenset[str] = frozenset()) -> list[str]:
    """What reads as English in a page's text; `data` are values stored as they are (user
    and group names, the reference ladder's and rules' bilingual names)."""
    plain, patterns = untranslated_patterns()
    found = []
    for item in texts:
        text = item.text.rstrip(":：").strip()
        if text in data:
            continue
        for name in data:  # a title may name the object: "修改 注册会员 Registered"
            if name in text:
                text = text.replace(name, "")
        if text in plain or any(p.fullmatch(text) for p in patterns):
            found.append(f"untranslated “{text}” in {item.where}")
        elif NO_STR.search(text):
            found.append(f"no readable name: “{text}” in {item.where}")
        elif item.chrome:
            english = [w for w in TOKEN.findall(CRONTAB_NAME.sub("", text))
                       if ENGLISH_WORD.fullmatch(w) and w not in ALLOWED_WORDS and len(w) > 1]
            if english:
                found.append(f"English title “{text}” in {item.where}")
    titles: dict[tuple[int, str], int] = {}
    for item in texts:
        if item.column_of is not None:
            key = (item.column_of, item.text)
            titles[key] = titles.get(key, 0) + 1
    # a required field's "*" beside its column title is a mark, not a title
    found += [f"two columns titled “{title}”" for (_table, title), n in titles.items()
              if n > 1 and title != "*"]
    return found


def _user(users, role):
    return users.superuser if role == "superuser" else users.by_role[role]


def _first(model_admin, request):
    model = model_admin.model
    if hasattr(model, "load"):
        return model.load()
    return model_admin.get_queryset(request).order_by("pk").first()


DEFAULT_VIEWS = ("changelist", "add", "history", "delete", "change")


def custom_pages(model_admin, obj) -> list[str]:
    """The pages a model admin adds in get_urls, filled in with the object's id."""
    opts = model_admin.model._meta
    own = {f"{opts.app_label}_{opts.model_name}_{view}" for view in DEFAULT_VIEWS}
    urls = []
    for pattern in model_admin.get_urls():
        name = getattr(pattern, "name", None)
        if not name or name in own:
            continue
        params = list(pattern.pattern.converters)
        if params and obj is None:
            continue
        try:
            urls.append(reverse(f"admin:{name}", kwargs={p: obj.pk for p in params}))
        except NoReverseMatch:
            continue
    return urls


def console_pages(user) -> list[str]:
    """Every page the user may open: the index, each app, each list, one object's change
    page, the add form, and the custom pages."""
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = [reverse("admin:index")]
    for app in admin.site.get_app_list(request):
        pages.append(app["app_url"])
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if not model_admin.has_view_or_change_permission(request):
            continue
        obj = _first(model_admin, request)
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        if obj is not None and model_admin.has_view_or_change_permission(request, obj):
            try:
                pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                     args=[obj.pk]))
            except NoReverseMatch:
                pass  # a report without pages per row
        if model_admin.has_add_permission(request):
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        pages.extend(custom_pages(model_admin, obj))
    return pages


def filled_in_pages(data) -> list[tuple[str, dict | None]]:
    """Pages that show more once something is asked: the rules tried on a basket, an
    adjustment's confirmation, earlier months, a ladder with other thresholds."""
    earlier = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    tiers = {f"t{t.pk}": str((t.min_growth or 0) + 100)
             for t in Tier.objects.filter(min_growth__isnull=False)}
    return [
        (reverse("admin:points_earningrule_try"), {
            "member": data.member.member_no, "event": "sale", "store": "SH001",
            "basket": "TEA-01, 茶, 1200.00\nMUG-01, 杯, 49.00", "tier_multiplier": "2"}),
        (reverse("admin:loyalty_member_adjust_points", args=[data.member.pk]),
         {"points": "1500", "reason": "补偿"}),
        (reverse("admin:tiers_benefit_cost") + f"?month={earlier}", None),
        (reverse("admin:tiers_paid_figures") + f"?month={earlier}", None),
        (reverse("admin:tiers_tier_preview") + "?" + urlencode(tiers), None),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_console_page_reads_as_chinese(role):
    users = build_console_data()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(_user(users, role))
    found, seen = [], 0
    asks = [(url, None) for url in console_pages(_user(users, role))] + filled_in_pages(users)
    for url, form in asks:
        response = (client.post(url, form, follow=True) if form is not None
                    else client.get(url, follow=True))
        if response.status_code == 403:
            continue  # the role may open the list but not this page
        if not response["Content-Type"].startswith("text/html"):
            continue  # a download or a JSON answer for the page's script
        assert response.status_code == 200, (url, response.status_code)
        seen += 1
        texts = page_texts(response.content.decode())
        found += [f"{url}: {p}" for p in problems_in(texts, data=users.names)]
    assert seen >= 5, seen
    assert not found, "\n" + "\n".join(sorted(set(found)))


def test_every_counter_page_reads_as_chinese():
    from members.models import Order, Store, StoreStaff

    users = build_console_data()
    clerk = users.by_role[roles.CLERKS]
    StoreStaff.objects.create(user=clerk, store=Store.objects.get(code="SH001"))
    member = users.member
    sale = Order.objects.filter(member=member, kind=Order.Kind.SALE).order_by("id").first()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(clerk)
    client.get("/counter/find/", {"q": member.member_no})  # opened: may be served
    pages = ["/counter/?new", "/counter/find/?q=0000", f"/counter/m/{member.pk}/",
             f"/counter/m/{member.pk}/purchase/", "/counter/register/", "/counter/return/",
             f"/counter/return/?order_no={sale.order_no}", "/counter/day/",
             "/counter/find/?q=MC1:forged", reverse("admin:index")]
    found = []
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        texts = page_texts(response.content.decode())
        found += [f"{url}: {p}" for p in problems_in(texts, data=users.names)]
    assert not found, "\n" + "\n".join(sorted(set(found)))
