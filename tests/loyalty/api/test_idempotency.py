"""`Idempotency-Key` on the writes that move points, and natural keys on sales and returns."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import IdempotencyRecord
from loyalty.services.idempotency import idempotency_responses_expire
from members.models import Order
from points.models import EntryKind, PointsAccount, PointsEntry
from points.services.ledger import points_adjust

from .conftest import API, client_for, error_code, new_idem, row_counts


def give_points(member, owner, points: int) -> None:
    points_adjust(member_id=member.pk, points=points, operator_id=owner.pk, reason="test credit")


def available(member) -> int:
    return PointsAccount.objects.get(member_id=member.pk).available


def spends(member) -> int:
    return PointsEntry.objects.filter(member_id=member.pk, kind=EntryKind.SPEND).count()


def sale_body(store, member, order_no="S-1", amount="100.00"):
    return {"store": store.code, "order_no": order_no, "member": member.pk,
            "ordered_at": "2026-03-14T10:30:00+08:00",
            "lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 1, "gross_amount": amount}]}


# --- the header is required where points move ---------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("operation,body", [
    ("spend", {"points": 10}),
    ("adjust", {"points": 10, "reason": "goodwill"}),
])
def test_points_writes_need_the_header(api, member, owner, operation, body):
    give_points(member, owner, 100)
    before = row_counts()
    response = api.post(f"{API}/members/{member.pk}/points/{operation}", body, format="json")
    assert response.status_code == 400
    assert error_code(response) == "idempotency_key_required"
    assert row_counts() == before
    assert not IdempotencyRecord.objects.exists()
    assert available(member) == 100


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "tab\tkey", "nul\x00key"])
def test_invalid_header_is_refused(api, member, owner, key):
    give_points(member, owner, 100)
    before = row_counts()
    response = api.post(f"{API}/members/{member.pk}/points/spend", {"points": 10},
                        format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert error_code(response) == "idempotency_key_invalid"
    assert row_counts() == before
    assert not IdempotencyRecord.objects.exists()


# --- replays ---------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("operation,body,kind", [
    ("spend", {"points": 30, "reason": "coupon"}, EntryKind.SPEND),
    ("adjust", {"points": 30, "reason": "goodwill"}, EntryKind.ADJUST),
])
def test_replay_answers_the_first_outcome(api, member, owner, operation, body, kind):
    give_points(member, owner, 100)
    url = f"{API}/members/{member.pk}/points/{operation}"
    key = new_idem()
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    balance_after = available(member)
    entries = PointsEntry.objects.filter(member_id=member.pk, kind=kind).count()

    for _ in range(2):
        again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    assert PointsEntry.objects.filter(member_id=member.pk, kind=kind).count() == entries
    assert available(member) == balance_after
    record = IdempotencyRecord.objects.get(key=key)
    assert record.state == IdempotencyRecord.State.DONE
    assert record.response_status == 201
    assert record.completed_at is not None


@pytest.mark.django_db
def test_spend_replay_writes_exactly_one_entry(api, member, owner):
    give_points(member, owner, 100)
    url = f"{API}/members/{member.pk}/points/spend"
    key = new_idem()
    bodies = [api.post(url, {"points": 40}, format="json", HTTP_IDEMPOTENCY_KEY=key).json()
              for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert spends(member) == 1
    assert available(member) == 60
    assert bodies[0]["balance"]["available"] == 60


@pytest.mark.django_db
def test_same_key_other_body_is_422(api, member, owner):
    give_points(member, owner, 100)
    url = f"{API}/members/{member.pk}/points/spend"
    key = new_idem()
    assert api.post(url, {"points": 10}, format="json",
                    HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    before = row_counts()
    for body in ({"points": 11}, {"points": 10, "reason": "other"}):
        response = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 422
        assert error_code(response) == "idempotency_key_reused"
    # the same key on another endpoint or another member is another request too
    response = api.post(f"{API}/members/{member.pk}/points/adjust",
                        {"points": 10, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 422
    assert row_counts() == before
    assert available(member) == 90


@pytest.mark.django_db
def test_business_failure_replays_as_the_same_failure(api, member, owner):
    give_points(member, owner, 100)
    url = f"{API}/members/{member.pk}/points/spend"
    key = new_idem()
    first = api.post(url, {"points": 500}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 409
    assert error_code(first) == "insufficient_points"
    assert first.json()["error"]["details"] == {"available": 100, "requested": 500}

    give_points(member, owner, 1000)  # now there would be enough
    again = api.post(url, {"points": 500}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert spends(member) == 0
    assert available(member) == 1100
    # a new key does the work
    fresh = api.post(url, {"points": 500}, format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert fresh.status_code == 201
    assert available(member) == 600


@pytest.mark.django_db
def test_validation_failure_stores_nothing_so_a_corrected_retry_succeeds(api, member, owner):
    give_points(member, owner, 100)
    url = f"{API}/members/{member.pk}/points/spend"
    key = new_idem()
    before = row_counts()
    bad = api.post(url, {"points": -5}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert bad.status_code == 400
    assert error_code(bad) == "invalid_input"
    assert "points" in bad.json()["error"]["details"]
    assert not IdempotencyRecord.objects.filter(key=key).exists()
    assert row_counts() == before

    good = api.post(url, {"points": 5}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert good.status_code == 201, good.content
    assert "Idempotent-Replayed" not in good
    assert available(member) == 95


@pytest.mark.django_db
def test_keys_are_scoped_per_api_key(make_key, member, owner):
    give_points(member, owner, 100)
    url = f"{API}/members/{member.pk}/points/spend"
    _, raw_a = make_key()
    _, raw_b = make_key()
    a = client_for(raw_a).post(url, {"points": 10}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    b = client_for(raw_b).post(url, {"points": 10}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert a.status_code == b.status_code == 201
    assert "Idempotent-Replayed" not in b
    assert a.json()["entry"]["id"] != b.json()["entry"]["id"]
    assert spends(member) == 2
    assert IdempotencyRecord.objects.filter(key="shared").count() == 2
    # and each key replays its own outcome
    c = client_for(raw_b).post(url, {"points": 10}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert c["Idempotent-Replayed"] == "true"
    assert c.json() == b.json()


@pytest.mark.django_db
def test_a_key_replays_for_30_days_then_answers_expired_and_never_runs_again(
        api, member, owner):
    give_points(member, owner, 100)
    url = f"{API}/members/{member.pk}/points/spend"
    key = new_idem()
    first = api.post(url, {"points": 30}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    record = IdempotencyRecord.objects.get(key=key)
    done = record.completed_at

    # day 29: still replayed with its response
    assert idempotency_responses_expire(now=done + timedelta(days=29)) == 0
    replay = api.post(url, {"points": 30}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()

    # past 30 days: the response (personal data) goes; key, hash and status stay
    assert idempotency_responses_expire(now=done + timedelta(days=30, seconds=1)) == 1
    record.refresh_from_db()
    assert record.response_body is None and record.response_expired_at is not None
    assert (record.key, record.request_hash, record.response_status) == (
        key, IdempotencyRecord.objects.get(pk=record.pk).request_hash, 201)
    assert len(record.request_hash) == 64
    late = api.post(url, {"points": 30}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert late.status_code == 409
    assert error_code(late) == "idempotency_response_expired"
    assert late.json()["error"]["details"] == {"days": 30, "original_status": 201}
    assert spends(member) == 1 and available(member) == 70  # never run again
    # another body under the key is still another request
    other = api.post(url, {"points": 31}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert other.status_code == 422
    assert idempotency_responses_expire(now=done + timedelta(days=60)) == 0


@pytest.mark.django_db
def test_responses_expire_in_chunks_and_unfinished_keys_are_left(api_key):
    key, _ = api_key
    now = timezone.now()
    old = now - timedelta(days=31)
    IdempotencyRecord.objects.bulk_create([
        IdempotencyRecord(api_key=key, key=f"k{n}", request_hash="0" * 64, state="done",
                          response_status=201, response_body={"mobile": "+8613800138000"},
                          created_at=old, completed_at=old + timedelta(minutes=n))
        for n in range(7)
    ] + [IdempotencyRecord(api_key=key, key="fresh", request_hash="0" * 64, state="done",
                           response_status=201, response_body={"x": 1}, created_at=now,
                           completed_at=now),
         IdempotencyRecord(api_key=key, key="never-finished", request_hash="0" * 64,
                           created_at=old)])
    assert idempotency_responses_expire(now=now, chunk=2, run_key="daily") == 7
    assert idempotency_responses_expire(now=now, chunk=2, run_key="daily") == 7  # same run
    assert idempotency_responses_expire(now=now, chunk=2) == 0
    assert IdempotencyRecord.objects.count() == 9
    assert set(IdempotencyRecord.objects.filter(response_body__isnull=False)
               .values_list("key", flat=True)) == {"fresh"}
    assert IdempotencyRecord.objects.get(key="never-finished").response_expired_at is None


# --- concurrency -----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_do_the_work_once(make_key, member, owner):
    give_points(member, owner, 1000)
    _, raw = make_key()
    url = f"{API}/members/{member.pk}/points/spend"
    key = new_idem()
    threads_count = 10
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, dict, str | None]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            client.raise_request_exception = False
            barrier.wait(timeout=30)
            response = client.post(url, {"points": 100, "reason": "race"}, format="json",
                                   HTTP_IDEMPOTENCY_KEY=key)
            with lock:
                results.append((response.status_code, response.json(),
                                response.get("Retry-After")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == threads_count

    created = [body for status, body, _retry in results if status == 201]
    in_progress = [(body, retry) for status, body, retry in results if status == 409]
    assert len(created) + len(in_progress) == threads_count, results
    assert created, results
    assert all(body == created[0] for body in created)
    assert all(body["error"]["code"] == "idempotency_in_progress" and retry == "1"
               for body, retry in in_progress)
    assert spends(member) == 1
    assert available(member) == 900

    # afterwards every retry answers the one outcome
    client = client_for(raw)
    again = client.post(url, {"points": 100, "reason": "race"}, format="json",
                        HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == created[0]
    assert spends(member) == 1


# --- sales and returns: idempotent by store + order number ----------------------------------------

@pytest.mark.django_db
def test_same_sale_twice_is_one_order(api, store, member):
    body = sale_body(store, member)
    first = api.post(f"{API}/orders/sales", body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["created"] is True
    second = api.post(f"{API}/orders/sales", body, format="json")
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["order"]["id"] == first.json()["order"]["id"]
    assert second.json()["points"] == first.json()["points"] == 100
    # with headers, fresh ones each time: still the one order
    third = api.post(f"{API}/orders/sales", body, format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert third.status_code == 200
    assert third.json()["order"]["id"] == first.json()["order"]["id"]
    assert Order.objects.filter(order_no="S-1").count() == 1
    assert PointsEntry.objects.filter(kind=EntryKind.EARN).count() == 1


@pytest.mark.django_db
def test_same_sale_with_a_header_replays_then_natural_key(api, store, member):
    body = sale_body(store, member, order_no="S-2")
    key = new_idem()
    first = api.post(f"{API}/orders/sales", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    replay = api.post(f"{API}/orders/sales", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    plain = api.post(f"{API}/orders/sales", body, format="json")
    assert plain.status_code == 200
    assert plain.json()["order"] == first.json()["order"]
    assert Order.objects.filter(order_no="S-2").count() == 1


@pytest.mark.django_db
def test_other_sale_under_a_used_number_is_refused(api, store, member):
    assert api.post(f"{API}/orders/sales", sale_body(store, member, "S-3"),
                    format="json").status_code == 201
    before = row_counts()
    response = api.post(f"{API}/orders/sales", sale_body(store, member, "S-3", amount="99.00"),
                        format="json")
    assert response.status_code == 409
    assert error_code(response) == "order_number_conflict"
    assert row_counts() == before


@pytest.mark.django_db
def test_same_return_twice_is_one_return(api, store, member):
    assert api.post(f"{API}/orders/sales", sale_body(store, member, "S-4"),
                    format="json").status_code == 201
    body = {"store": store.code, "order_no": "R-4", "sale_order_no": "S-4",
            "ordered_at": "2026-03-15T10:00:00+08:00", "lines": [{"line_no": 1, "quantity": 1}]}
    first = api.post(f"{API}/orders/returns", body, format="json")
    assert first.status_code == 201, first.content
    second = api.post(f"{API}/orders/returns", body, format="json",
                      HTTP_IDEMPOTENCY_KEY=new_idem())
    assert second.status_code == 200
    assert second.json()["order"]["id"] == first.json()["order"]["id"]
    assert second.json()["points"] == first.json()["points"] == -100
    assert Order.objects.filter(kind=Order.Kind.RETURN).count() == 1
    assert PointsEntry.objects.filter(kind=EntryKind.REVERSE).count() == 1
