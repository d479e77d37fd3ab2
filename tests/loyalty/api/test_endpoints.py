"""The API's happy paths, end to end over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import ActivityKind, Member, MemberActivity, Order
from points.models import EntryKind, PointsAccount, PointsEntry, PointsSettings
from points.services.ledger import points_adjust, points_spend

from .conftest import API, new_idem

pytestmark = pytest.mark.django_db


def settings(**fields) -> None:
    from points.models import EarningRule

    if "points_per_yuan" in fields:
        EarningRule.objects.filter(rule_key="purchase", is_current=True).update(
            points_per_yuan=fields.pop("points_per_yuan"))
    obj = PointsSettings.load()
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save()


def balance(member_id: int) -> dict:
    account = PointsAccount.objects.filter(member_id=member_id).first()
    if account is None:
        return {"available": 0, "pending": 0, "held": 0, "debt": 0}
    return {"available": account.available, "pending": account.pending, "held": account.held,
            "debt": account.debt}


def sale(store, member, order_no="S-1", quantity=3, gross="300.00", **line):
    return {"store": store.code, "order_no": order_no, "member": member.pk,
            "ordered_at": "2026-03-14T10:30:00+08:00",
            "lines": [{"line_no": 1, "sku": "SKU-1", "quantity": quantity,
                       "gross_amount": gross, **line}]}


# --- members ---------------------------------------------------------------------------------

def test_register_normalises_the_mobile(api, store):
    before = timezone.now()
    response = api.post(f"{API}/members", {
        "mobile": "138 0013 8000", "name": " 王五 ", "gender": "female",
        "birthday": "1990-05-01", "home_store": store.code, "source_channel": "mini_program",
        "external_id": "shop-42", "marketing_consent": True, "consent_source": "mini_program",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mobile"] == "+8613800138000"
    assert body["name"] == "王五"
    assert body["home_store"] == store.code
    assert body["source_channel"] == "mini_program"
    assert body["status"] == "active"
    assert body["marketing_consent"] is True
    assert body["marketing_consent_source"] == "mini_program"
    assert len(body["member_no"]) == 10 and body["member_no"].isdigit()
    member = Member.objects.get(pk=body["id"])
    assert member.mobile == "+8613800138000"
    assert member.marketing_consent_at >= before
    assert MemberActivity.objects.filter(member=member, kind=ActivityKind.REGISTRATION).count() == 1


def test_register_needs_a_mobile_and_refuses_a_taken_one(api, member):
    response = api.post(f"{API}/members", {"name": "无号"}, format="json")
    assert response.status_code == 400
    assert "mobile" in response.json()["error"]["details"]
    response = api.post(f"{API}/members", {"mobile": member.mobile}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "mobile_taken"


def test_get_by_id(api, member):
    response = api.get(f"{API}/members/{member.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == member.pk
    assert body["member_no"] == member.member_no
    assert body["mobile"] == member.mobile
    response = api.get(f"{API}/members/999999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", [
    {"mobile": "13800138123"}, {"mobile": "+86 138 0013 8123"}, {"mobile": "138-0013-8123"},
    {"external_id": "shop-7"}, {"member_no": "FROM_MEMBER"},
])
def test_lookup(api, make_member, query):
    member = make_member(mobile="13800138123", external_id="shop-7")
    make_member()  # someone else
    if query.get("member_no") == "FROM_MEMBER":
        query = {"member_no": member.member_no}
    response = api.get(f"{API}/members/lookup", query)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == member.pk


def test_lookup_unknown_and_invalid(api, member):
    response = api.get(f"{API}/members/lookup", {"mobile": "13900000000"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "member_not_found"
    response = api.get(f"{API}/members/lookup", {"mobile": "abc"})
    assert response.status_code == 400
    assert "mobile" in response.json()["error"]["details"]
    response = api.get(f"{API}/members/lookup")
    assert response.status_code == 400


def test_lookup_by_mobile_skips_closed_members(api, make_member):
    from members.services.members import member_set_status

    old = make_member(mobile="13800138555")
    member_set_status(member_id=old.pk, status=Member.Status.CLOSED)
    response = api.get(f"{API}/members/lookup", {"mobile": "13800138555"})
    assert response.status_code == 404
    new = make_member(mobile="13800138555")
    response = api.get(f"{API}/members/lookup", {"mobile": "13800138555"})
    assert response.json()["id"] == new.pk


def test_patch_records_consent_time(api, member):
    assert member.marketing_consent is False
    before = timezone.now()
    response = api.patch(f"{API}/members/{member.pk}",
                         {"marketing_consent": True, "name": "新名字", "region": "杭州"},
                         format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["marketing_consent"] is True
    assert body["marketing_consent_source"] == "api"
    assert body["name"] == "新名字" and body["region"] == "杭州"
    member.refresh_from_db()
    assert member.marketing_consent is True
    assert before <= member.marketing_consent_at <= timezone.now()
    assert member.marketing_consent_source == "api"
    # fields not sent are left alone
    assert member.mobile == body["mobile"] and member.mobile

    # withdrawing consent records the new time and source too
    first = member.marketing_consent_at
    response = api.patch(f"{API}/members/{member.pk}",
                         {"marketing_consent": False, "consent_source": "wechat"}, format="json")
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.marketing_consent is False
    assert member.marketing_consent_at > first
    assert member.marketing_consent_source == "wechat"


def test_patch_mobile_is_normalised(api, member):
    response = api.patch(f"{API}/members/{member.pk}", {"mobile": "+86 139 0013 9000"},
                         format="json")
    assert response.status_code == 200
    assert response.json()["mobile"] == "+8613900139000"


# --- orders ----------------------------------------------------------------------------------

def test_sale_earns_pending_points(api, store, member):
    settings(points_per_yuan=2, pending_days=7)
    response = api.post(f"{API}/orders/sales",
                        sale(store, member, coupon_discount="30.00", net_amount="270.00"),
                        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    assert body["points"] == 540
    assert body["points_pending"] == 540
    assert body["debt"] == 0
    order = body["order"]
    assert order["store"] == store.code and order["kind"] == "sale"
    assert order["member"] == member.pk and order["sale_order_no"] is None
    assert order["gross_amount"] == "300.00" and order["net_amount"] == "270.00"
    assert order["lines"][0]["coupon_discount"] == "30.00"
    assert balance(member.pk) == {"available": 0, "pending": 540, "held": 0, "debt": 0}


def test_sale_without_return_window_is_available_at_once(api, store, member):
    settings(points_per_yuan=1, pending_days=0)
    response = api.post(f"{API}/orders/sales", sale(store, member, gross="99.90"),
                        format="json")
    assert response.status_code == 201
    assert response.json()["points"] == 99  # rounded down
    assert response.json()["points_pending"] == 0
    assert balance(member.pk)["available"] == 99


def test_return_reverses_points_in_proportion(api, store, member):
    settings(points_per_yuan=1, pending_days=7)
    assert api.post(f"{API}/orders/sales", sale(store, member, quantity=3, gross="90.00"),
                    format="json").json()["points"] == 90
    ret = {"store": store.code, "order_no": "R-1", "sale_order_no": "S-1",
           "ordered_at": "2026-03-15T10:00:00+08:00", "lines": [{"line_no": 1, "quantity": 1}]}
    response = api.post(f"{API}/orders/returns", ret, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points"] == -30
    assert body["points_pending"] == -30
    assert body["order"]["kind"] == "return"
    assert body["order"]["sale_order_no"] == "S-1"
    assert body["order"]["net_amount"] == "30.00"
    assert balance(member.pk)["pending"] == 60

    # the rest of the sale reverses the rest of its points
    ret2 = {**ret, "order_no": "R-2", "lines": [{"line_no": 1, "quantity": 2}]}
    response = api.post(f"{API}/orders/returns", ret2, format="json")
    assert response.status_code == 201
    assert response.json()["points"] == -60
    assert balance(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 0}
    assert Order.objects.filter(kind=Order.Kind.RETURN).count() == 2


# --- points ----------------------------------------------------------------------------------

def test_balances(api, member, owner):
    response = api.get(f"{API}/members/{member.pk}/points")
    assert response.status_code == 200
    none_soon = {"points": 0, "date": None, "within_days": 30}
    assert response.json() == {"member": member.pk, "available": 0, "pending": 0, "held": 0,
                               "debt": 0, "expiring_soon": none_soon}
    points_adjust(member_id=member.pk, points=120, operator_id=owner.pk, reason="x")
    points_spend(member_id=member.pk, points=20)
    response = api.get(f"{API}/members/{member.pk}/points")
    assert response.json() == {"member": member.pk, "available": 100, "pending": 0,
                               "held": 0, "debt": 0, "expiring_soon": none_soon}


@pytest.fixture
def five_entries(member, owner, now):
    """Five entries an hour apart: adjust +100, spend 10, adjust +5, spend 20, spend 30."""
    times = [now + timedelta(hours=n) for n in range(5)]
    points_adjust(member_id=member.pk, points=100, operator_id=owner.pk, reason="a", now=times[0])
    points_spend(member_id=member.pk, points=10, now=times[1])
    points_adjust(member_id=member.pk, points=5, operator_id=owner.pk, reason="b", now=times[2])
    points_spend(member_id=member.pk, points=20, now=times[3])
    points_spend(member_id=member.pk, points=30, now=times[4])
    return times


def test_history_cursor_pagination(api, member, five_entries):
    url = f"{API}/members/{member.pk}/points/entries?page_size=2"
    pages = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body["results"])
        url = body["next"]
        assert len(pages) <= 5, "pagination does not end"
    assert [len(page) for page in pages] == [2, 2, 1]
    entries = [entry for page in pages for entry in page]
    ids = [entry["id"] for entry in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5  # newest first, no repeats
    assert [entry["points"] for entry in entries] == [-30, -20, 5, -10, 100]
    assert [entry["kind"] for entry in entries] == ["spend", "spend", "adjust", "spend", "adjust"]
    # the previous link of the last page leads back
    back = api.get(body["previous"]).json()
    assert [entry["id"] for entry in back["results"]] == ids[2:4]


def test_history_filters(api, member, five_entries):
    url = f"{API}/members/{member.pk}/points/entries"
    spends = api.get(url, {"kind": "spend"}).json()["results"]
    assert [entry["points"] for entry in spends] == [-30, -20, -10]
    adjusts = api.get(url, {"kind": "adjust"}).json()["results"]
    assert [entry["points"] for entry in adjusts] == [5, 100]

    third = five_entries[2]
    after = api.get(url, {"created_after": third.isoformat()}).json()["results"]
    assert [entry["points"] for entry in after] == [-30, -20, 5]  # from the third on
    before = api.get(url, {"created_before": third.isoformat()}).json()["results"]
    assert [entry["points"] for entry in before] == [-10, 100]  # strictly before
    window = api.get(url, {"created_after": five_entries[1].isoformat(),
                           "created_before": five_entries[4].isoformat(),
                           "kind": "spend"}).json()["results"]
    assert [entry["points"] for entry in window] == [-20, -10]


def test_spend(api, member, owner):
    points_adjust(member_id=member.pk, points=100, operator_id=owner.pk, reason="x")
    response = api.post(f"{API}/members/{member.pk}/points/spend",
                        {"points": 30, "reason": "兑换咖啡"}, format="json",
                        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["entry"]["kind"] == "spend"
    assert body["entry"]["points"] == -30
    # what the integrator typed is a note beside the append-only entry, never on it
    assert (body["entry"]["reason"], body["entry"]["note"]) == ("", "兑换咖啡")
    entry = PointsEntry.objects.select_related("note").get(pk=body["entry"]["id"])
    assert (entry.reason, entry.note.text, entry.note.member_id) == ("", "兑换咖啡", member.pk)
    assert body["balance"]["available"] == 70
    assert balance(member.pk)["available"] == 70
    response = api.post(f"{API}/members/{member.pk}/points/spend", {"points": 71},
                        format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_points"


def test_adjust_records_the_key_owner_as_operator(api, api_key, member, owner):
    assert api_key[0].owner_id == owner.pk
    response = api.post(f"{API}/members/{member.pk}/points/adjust",
                        {"points": 50, "reason": "客诉补偿"}, format="json",
                        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 201, response.content
    body = response.json()
    entry = PointsEntry.objects.get(pk=body["entry"]["id"])
    assert entry.kind == EntryKind.ADJUST
    assert entry.operator_id == owner.pk
    assert (entry.reason, entry.note.text) == ("other", "客诉补偿")  # typed text: a note
    assert entry.available_delta == 50
    assert body["balance"]["available"] == 50

    response = api.post(f"{API}/members/{member.pk}/points/adjust",
                        {"points": -20, "reason": "更正"}, format="json",
                        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 201
    assert PointsEntry.objects.get(pk=response.json()["entry"]["id"]).operator_id == owner.pk
    assert balance(member.pk)["available"] == 30


# --- documentation ---------------------------------------------------------------------------

def test_docs_serve_swagger_ui_without_a_cdn(anon):
    response = anon.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    script = anon.get("/api/docs/?script=").content.decode()  # served as a file (the CSP)
    assert "/api/schema/" in script
    for cdn in ("cdn.jsdelivr", "unpkg", "cdnjs", "googleapis"):
        assert cdn not in html, cdn
    assert "drf_spectacular_sidecar" in html  # the assets are served by us


def test_schema_is_served_without_a_key(anon):
    response = anon.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/members" in schema["paths"]


def test_a_member_named_as_their_own_referrer_is_refused(api, member):
    """The referrer rule of registrations and referral events (members.services.members):
    oneself is 400 self_referral; a referrer who is no member 404 referrer_not_found."""
    response = api.patch(f"{API}/members/{member.pk}", {"referrer": member.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "self_referral"
    response = api.patch(f"{API}/members/{member.pk}", {"referrer": member.pk + 1000},
                         format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "referrer_not_found"
