"""POST /api/v1/events: a behaviour event recorded once by its event id and paid through the
earning rules, answering what each rule gave and why; and the sale response's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from members.models import Member, MemberActivity
from members.services.members import member_set_status
from points.models import PointsAccount, PointsEntry
from points.models.rules import EarningRule, RuleAward
from points.services.rule_versions import earning_rule_save

from .conftest import API, client_for, error_code

pytestmark = pytest.mark.django_db

D = Decimal
EVENTS = f"{API}/events"


@pytest.fixture
def events_api(make_key):
    """A client whose key may only send events."""
    return client_for(make_key(scopes=["events:write"])[1])


def make_rule(now, key: str, **fields) -> EarningRule:
    fields.setdefault("name", key)
    fields.setdefault("formula", "fixed")
    return earning_rule_save(rule=EarningRule(rule_key=key, **fields), user_id=None, now=now)


def event(member, event_id: str = "evt-1", type: str = "custom", **fields) -> dict:
    body = {"event_id": event_id, "member": member.pk if isinstance(member, Member) else member,
            "type": type, "occurred_at": "2026-03-14T10:30:00+08:00"}
    if type == "custom":
        body["name"] = "share_poster"
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def balance(member_id: int) -> int:
    account = PointsAccount.objects.filter(member_id=member_id).first()
    return 0 if account is None else account.available + account.pending


def rules_of(body: dict) -> dict[tuple[str, int | None], tuple[int, str]]:
    return {(r["rule"], r["member"]): (r["points"], r["reason"]) for r in body["rules"]}


def test_an_event_is_paid_through_the_rules(events_api, member, store, now):
    make_rule(now, "poster", event="custom", custom_event="share_poster", fixed_points=30)
    make_rule(now, "poster-in-store", event="custom", custom_event="share_poster",
              fixed_points=20, store_codes=[store.code])
    make_rule(now, "other-event", event="custom", custom_event="quiz", fixed_points=99)

    response = events_api.post(EVENTS, event(member), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["event_id"], body["created"], body["points"]) == ("evt-1", True, 30)
    assert rules_of(body) == {("poster", member.pk): (30, "awarded"),
                              ("poster-in-store", member.pk): (0, "out_of_scope")}
    first = body["rules"][0]
    assert (first["rule_name"], first["version"]) == ("poster", 1)
    assert first["reason_text"] and body["rules"][1]["reason_text"] != first["reason_text"]
    assert balance(member.pk) == 30
    assert MemberActivity.objects.get().source_key == "evt-1"


def test_an_event_naming_a_store_is_scoped_by_it(events_api, member, store, now):
    make_rule(now, "poster-in-store", event="custom", custom_event="share_poster",
              fixed_points=20, store_codes=[store.code])

    response = events_api.post(EVENTS, event(member, store=store.code), format="json")

    assert response.status_code == 201
    assert rules_of(response.json()) == {("poster-in-store", member.pk): (20, "awarded")}
    assert balance(member.pk) == 20


def test_the_same_event_again_pays_nothing_more(events_api, member, now):
    make_rule(now, "poster", event="custom", custom_event="share_poster", fixed_points=30)
    first = events_api.post(EVENTS, event(member), format="json")
    entries = PointsEntry.objects.count()

    again = events_api.post(EVENTS, event(member), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    body = again.json()
    assert (body["created"], body["points"]) == (False, first.json()["points"]) == (False, 30)
    assert rules_of(body) == {("poster", member.pk): (30, "duplicate")}
    assert balance(member.pk) == 30
    assert PointsEntry.objects.count() == entries
    assert MemberActivity.objects.count() == 1


def test_the_same_event_without_a_time_sent_again_is_a_replay(events_api, member, now):
    """A retry of an event that did not say when it happened is the same event, not a
    conflict (the server's clock moved on between the two)."""
    make_rule(now, "poster", event="custom", custom_event="share_poster", fixed_points=30)
    body = event(member, occurred_at=None)

    first = events_api.post(EVENTS, body, format="json")
    again = events_api.post(EVENTS, body, format="json")

    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert (again.json()["created"], again.json()["points"]) == (False, 30)
    assert balance(member.pk) == 30


def test_the_same_event_id_with_other_contents_is_a_conflict(events_api, member, now):
    make_rule(now, "poster", event="custom", custom_event="share_poster", fixed_points=30)
    assert events_api.post(EVENTS, event(member), format="json").status_code == 201

    other_time = events_api.post(EVENTS, event(member, occurred_at="2026-03-14T11:00:00+08:00"),
                                 format="json")
    other_name = events_api.post(EVENTS, event(member, name="quiz"), format="json")

    for response in (other_time, other_name):
        assert response.status_code == 409
        assert error_code(response) == "event_id_conflict"
    assert balance(member.pk) == 30
    assert MemberActivity.objects.count() == 1


def test_a_custom_event_needs_a_name(events_api, member):
    response = events_api.post(EVENTS, event(member, name="  "), format="json")

    assert response.status_code == 400
    assert error_code(response) == "event_name_required"
    assert not MemberActivity.objects.exists()


def test_an_unknown_member_is_not_found(events_api, member):
    response = events_api.post(EVENTS, event(member.pk + 1000), format="json")

    assert response.status_code == 404
    assert error_code(response) == "member_not_found"
    assert not MemberActivity.objects.exists()


def test_a_referral_rewards_both_sides_when_the_rule_says_both(events_api, make_member, now):
    referrer, invited = make_member(), make_member()
    make_rule(now, "referral", event="referral_converted", fixed_points=200, beneficiary="both")

    response = events_api.post(EVENTS, event(invited, type="referral_converted",
                                             referrer=referrer.pk), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points"] == 200  # the member's own points
    assert rules_of(body) == {("referral", invited.pk): (200, "awarded"),
                              ("referral", referrer.pk): (200, "awarded")}
    assert (balance(invited.pk), balance(referrer.pk)) == (200, 200)
    assert RuleAward.objects.count() == 2

    again = events_api.post(EVENTS, event(invited, type="referral_converted",
                                          referrer=referrer.pk), format="json")
    assert again.status_code == 200
    assert rules_of(again.json()) == {("referral", invited.pk): (200, "duplicate"),
                                      ("referral", referrer.pk): (200, "duplicate")}
    assert (balance(invited.pk), balance(referrer.pk)) == (200, 200)


def test_a_referral_without_a_referrer_pays_the_member_side_only(events_api, member, now):
    make_rule(now, "referral", event="referral_converted", fixed_points=200, beneficiary="both")

    response = events_api.post(EVENTS, event(member, type="referral_converted"), format="json")

    assert response.status_code == 201
    assert rules_of(response.json()) == {("referral", member.pk): (200, "awarded"),
                                         ("referral", None): (0, "no_referrer")}


def test_an_event_for_a_frozen_member_is_recorded_and_pays_nothing(events_api, member, now):
    make_rule(now, "poster", event="custom", custom_event="share_poster", fixed_points=30)
    member_set_status(member_id=member.pk, status=Member.Status.FROZEN, now=now)

    response = events_api.post(EVENTS, event(member), format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["points"]) == (True, 0)
    assert rules_of(body) == {("poster", member.pk): (0, "member_frozen")}
    assert balance(member.pk) == 0
    assert not PointsEntry.objects.exists()
    assert MemberActivity.objects.filter(member=member).count() == 1


def test_check_ins_pay_once_a_day(events_api, member):
    first = events_api.post(EVENTS, event(member, "c-1", type="checkin"), format="json")
    second = events_api.post(EVENTS, event(member, "c-2", type="checkin",
                                           occurred_at="2026-03-14T23:59:00+08:00"),
                             format="json")
    next_day = events_api.post(EVENTS, event(member, "c-3", type="checkin",
                                             occurred_at="2026-03-15T00:01:00+08:00"),
                               format="json")

    assert [r.json()["points"] for r in (first, second, next_day)] == [5, 0, 5]
    assert rules_of(second.json()) == {("daily-checkin", member.pk): (0, "cap_reached")}
    assert balance(member.pk) == 10


def test_events_need_the_events_scope(make_key, member):
    orders_only = client_for(make_key(scopes=["orders:write"])[1])

    response = orders_only.post(EVENTS, event(member), format="json")

    assert response.status_code == 403
    assert not MemberActivity.objects.exists()


def test_the_sale_response_lists_the_rules_that_paid(make_key, member, store, now):
    api = client_for(make_key(scopes=["orders:write"])[1])
    make_rule(now, "tea-double", event="sale", formula="multiplier", multiplier=D("2"),
              categories=["tea"])
    make_rule(now, "snack-bonus", event="sale", fixed_points=10, categories=["snack"])

    response = api.post(f"{API}/orders/sales", {
        "store": store.code, "order_no": "S-1", "member": member.pk,
        "ordered_at": "2026-03-14T10:30:00+08:00",
        "lines": [{"line_no": 1, "sku": "TEA-01", "category": "tea", "quantity": 1,
                   "gross_amount": "68.00"},
                  {"line_no": 2, "sku": "COF-01", "category": "coffee", "quantity": 1,
                   "gross_amount": "30.00"}]}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points"] == 166  # tea 68 × 2 + coffee 30
    assert rules_of(body) == {("purchase", member.pk): (166, "awarded"),
                              ("tea-double", member.pk): (68, "awarded"),
                              ("snack-bonus", member.pk): (0, "out_of_scope")}
    assert {r["rule"] for r in body["rules"] if r["points"] > 0} == {"purchase", "tea-double"}


def test_a_member_cannot_refer_themselves(events_api, member):
    response = events_api.post(EVENTS, event(member, type="referral_converted",
                                             referrer=member.pk), format="json")
    assert response.status_code == 400
    assert error_code(response) == "self_referral"
    assert not MemberActivity.objects.exists()
