"""API keys: authentication, scopes, hashed storage, last use and the per-key rate limit."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import ApiKey, Scope
from loyalty.services.api_keys import api_key_authenticate, api_key_revoke

from .conftest import ALL_SCOPES, API, client_for, error_code, new_idem

pytestmark = pytest.mark.django_db

# Every operation with the scope it needs (a few need two, joined by "+"):
# (operationId, method, path, scope).
SCOPED_OPERATIONS = [
    ("memberRegister", "post", "/members", "members:write"),
    ("memberGet", "get", "/members/{id}", "members:read"),
    ("memberUpdate", "patch", "/members/{id}", "members:write"),
    ("memberLookup", "get", "/members/lookup?member_no={no}", "members:read"),
    ("pointsBalance", "get", "/members/{id}/points", "members:read"),
    ("pointsEntries", "get", "/members/{id}/points/entries", "members:read"),
    ("pointsSpend", "post", "/members/{id}/points/spend", "points:write"),
    ("pointsAdjust", "post", "/members/{id}/points/adjust", "points:admin"),
    ("pointsTransfer", "post", "/members/{id}/points/transfer", "points:write"),
    ("pointsSpendCancel", "post", "/members/{id}/points/entries/1/cancel", "points:write"),
    ("tierProgress", "get", "/members/{id}/tier", "members:read"),
    ("memberAsOf", "get", "/members/{id}/as-of?date=2026-03-01", "members:read"),
    ("memberOffers", "get", "/members/{id}/offers", "campaigns:read"),
    ("campaignResults", "get", "/campaigns/spring/results", "campaigns:read"),
    ("memberCodeIssue", "get", "/members/{id}/code", "members:read"),
    ("saleRecord", "post", "/orders/sales", "orders:write"),
    ("returnRecord", "post", "/orders/returns", "orders:write"),
    ("eventRecord", "post", "/events", "events:write"),
    ("rewardsList", "get", "/members/{id}/rewards", "members:read"),
    ("rewardRedeem", "post", "/members/{id}/rewards/redeem", "points:write"),
    ("redemptionsList", "get", "/members/{id}/rewards/redemptions",
     "members:read"),
    ("redemptionCancel", "post",
     "/members/{id}/rewards/redemptions/1/cancel", "points:write"),
    ("couponsList", "get", "/members/{id}/coupons", "members:read"),
    ("couponHistory", "get", "/members/{id}/coupons/history",
     "members:read"),
    ("couponIssue", "post", "/members/{id}/coupons/issue", "points:write"),
    ("couponRedeem", "post", "/coupons/redeem", "points:write"),
    ("couponVoid", "post", "/coupons/void", "points:admin"),
    ("checkoutPreview", "post", "/checkout/preview", "members:read"),
    ("checkoutCommit", "post", "/checkout/commit", "orders:write+points:write"),
    ("memberBenefits", "get", "/members/{id}/benefits", "members:read"),
    ("benefitGrantsList", "get", "/members/{id}/benefit-grants", "members:read"),
    ("benefitGrantClaim", "post", "/members/{id}/benefit-grants/1/claim",
     "members:write"),
    ("benefitGrantUse", "post", "/members/{id}/benefit-grants/1/use",
     "members:write"),
    ("paidMembershipPurchase", "post", "/members/{id}/paid-memberships",
     "orders:write"),
    ("holdCreate", "post", "/checkout/holds", "points:write"),
    ("holdGet", "get", "/checkout/holds/1", "points:write"),
    ("holdCapture", "post", "/checkout/holds/1/capture", "points:write"),
    ("holdRelease", "post", "/checkout/holds/1/release", "points:write"),
    ("partnerExchangeIn", "post", "/partners/air/exchanges/in", "points:write"),
    ("partnerExchangeOut", "post", "/partners/air/exchanges/out",
     "points:write"),
    ("pointsLiability", "get", "/reports/points-liability",
     "points:admin"),
    ("storedValueBalance", "get", "/members/{id}/stored-value", "members:read"),
    ("storedValueTopUp", "post", "/members/{id}/stored-value/top-ups", "stored_value:write"),
    ("storedValueSpend", "post", "/members/{id}/stored-value/spend", "stored_value:write"),
    ("storedValueRefund", "post", "/members/{id}/stored-value/refunds",
     "stored_value:admin"),
    ("giftCardEnquiry", "post", "/gift-cards/enquiry", "gift_cards:read"),
    ("giftCardActivate", "post", "/gift-cards/activate", "gift_cards:write"),
    ("giftCardSpend", "post", "/gift-cards/spend", "gift_cards:write"),
    ("prepaidLiability", "get", "/reports/prepaid-liability", "stored_value:admin"),
    ("checkinRecord", "post", "/members/{id}/checkin", "events:write"),
    ("checkinMakeup", "post", "/members/{id}/checkin/makeup", "points:write"),
    ("checkinCalendar", "get", "/members/{id}/checkin/calendar", "members:read"),
    ("tasksProgress", "get", "/members/{id}/tasks", "members:read"),
    ("lotteryGet", "get", "/lotteries/1", "campaigns:read"),
    ("lotteryDraw", "post", "/members/{id}/lotteries/1/draw", "points:write"),
    ("lotteryDrawsOfMember", "get", "/members/{id}/lottery-draws", "members:read"),
    ("lotteryDrawsList", "get", "/lotteries/1/draws", "campaigns:read"),
    ("lotteryVerify", "get", "/lotteries/1/verification", "campaigns:read"),
    ("memberTagAdd", "post", "/members/{id}/tags", "members:write"),
    ("memberTagRemove", "delete", "/members/{id}/tags/vip", "members:write"),
    ("segmentMembership", "get", "/segments/all/members/{id}", "members:read"),
    ("snapshotMembership", "get", "/segments/all/snapshots/1/members/{id}",
     "members:read"),
    ("webhookSubscriptions", "get", "/webhooks/subscriptions", "webhooks:admin"),
    ("webhookSubscriptionCreate", "post", "/webhooks/subscriptions", "webhooks:admin"),
    ("webhookSubscription", "get", "/webhooks/subscriptions/1", "webhooks:admin"),
    ("webhookSubscriptionChange", "patch", "/webhooks/subscriptions/1", "webhooks:admin"),
    ("webhookPing", "post", "/webhooks/subscriptions/1/ping", "webhooks:admin"),
    ("webhookSecretRotate", "post", "/webhooks/subscriptions/1/rotate-secret",
     "webhooks:admin"),
    ("webhookDeliveries", "get", "/webhooks/subscriptions/1/deliveries", "webhooks:admin"),
]


def _send(client, method: str, path: str, member):
    url = API + path.format(id=member.pk, no=member.member_no)
    if method == "get":
        return client.get(url)
    # an empty body: past the permission check it is refused by validation, never written
    return getattr(client, method)(url, {}, format="json", HTTP_IDEMPOTENCY_KEY=new_idem())


def test_scope_table_covers_every_operation(anon):
    schema = anon.get("/api/schema/?format=json").json()
    operation_ids = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
    assert operation_ids == {row[0] for row in SCOPED_OPERATIONS}


def test_no_key_is_401_not_authenticated(anon, member):
    response = anon.get(f"{API}/members/{member.pk}")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("operation_id,method,path,scope", SCOPED_OPERATIONS,
                         ids=[row[0] for row in SCOPED_OPERATIONS])
def test_every_operation_needs_a_key(anon, member, operation_id, method, path, scope):
    response = _send(anon, method, path, member)
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


@pytest.mark.parametrize("header", [
    "Bearer lk_deadbeef_not-the-secret",
    "Bearer lk_",
    "Bearer lk_nounderscore",
    "Bearer garbage",
    "Bearer lk__secret",
    "Bearer lk_" + "a" * 5000 + "_secret",
    "Bearer lk_\x00_secret",
    "Bearer lk_dead\x00beef_secret",
    "Bearer lk_ééé_secret",
])
def test_wrong_or_garbled_key_is_401_authentication_failed(member, header):
    client = client_for(None)
    client.raise_request_exception = False
    response = client.get(f"{API}/members/{member.pk}", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401, response.content
    assert error_code(response) == "authentication_failed"


def test_right_prefix_wrong_secret_is_401(api_key, member):
    key, raw = api_key
    response = client_for(f"lk_{key.prefix}_wrong-secret").get(f"{API}/members/{member.pk}")
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"
    # and the same secret under another prefix does not work either
    secret = raw.split("_", 2)[2]
    response = client_for(f"lk_00000000_{secret}").get(f"{API}/members/{member.pk}")
    assert response.status_code == 401


def test_x_api_key_header_and_case_insensitive_scheme(api_key, member):
    _, raw = api_key
    url = f"{API}/members/{member.pk}"
    assert client_for(None).get(url, HTTP_X_API_KEY=raw).status_code == 200
    assert client_for(None).get(url, HTTP_AUTHORIZATION=f"bearer {raw}").status_code == 200
    assert client_for(None).get(url, HTTP_AUTHORIZATION=f"BEARER  {raw} ").status_code == 200
    response = client_for(None).get(url, HTTP_X_API_KEY="lk_deadbeef_nope")
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"
    # another scheme is not ours: no credentials at all
    response = client_for(None).get(url, HTTP_AUTHORIZATION=f"Basic {raw}")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_revoked_key_is_401(make_key, member):
    key, raw = make_key()
    client = client_for(raw)
    assert client.get(f"{API}/members/{member.pk}").status_code == 200
    api_key_revoke(key_id=key.pk)
    key.refresh_from_db()
    assert key.revoked_at is not None and not key.is_active
    response = client.get(f"{API}/members/{member.pk}")
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"
    assert api_key_authenticate(raw) is None


@pytest.mark.parametrize("operation_id,method,path,scope", SCOPED_OPERATIONS,
                         ids=[row[0] for row in SCOPED_OPERATIONS])
def test_key_lacking_the_scope_is_403(make_key, member, operation_id, method, path, scope):
    needed = scope.split("+")
    for missing in needed:
        _, without = make_key([s for s in ALL_SCOPES if s != missing])
        response = _send(client_for(without), method, path, member)
        assert response.status_code == 403, response.content
        assert error_code(response) == "permission_denied"

    # the scopes it needs are enough to get past the permission check
    _, only = make_key(needed)
    response = _send(client_for(only), method, path, member)
    assert response.status_code not in (401, 403), response.content


def test_key_without_scopes_is_refused_everywhere(make_key, member):
    _, raw = make_key([])
    for _op, method, path, _scope in SCOPED_OPERATIONS:
        response = _send(client_for(raw), method, path, member)
        assert response.status_code == 403, (path, response.content)


def test_unknown_scope_is_refused_at_creation(owner):
    from loyalty.errors import ApiError
    from loyalty.services.api_keys import api_key_create

    with pytest.raises(ApiError) as caught:
        api_key_create(name="x", scopes=["members:read", "everything"], owner_id=owner.pk)
    assert caught.value.code.value == "invalid_scope"
    assert not ApiKey.objects.exists()


def test_key_is_stored_hashed_and_found_by_prefix(make_key):
    key, raw = make_key([Scope.MEMBERS_READ])
    assert raw.startswith("lk_")
    _, prefix, secret = raw.split("_", 2)
    key.refresh_from_db()
    assert key.prefix == prefix
    assert key.hashed_key == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(k)::text FROM loyalty_apikey k WHERE id = %s",
                       [key.pk])
        (row,) = cursor.fetchone()
    assert secret not in row and raw not in row
    assert prefix in row
    # the prefix identifies the key; the plaintext authenticates to exactly it
    assert api_key_authenticate(raw).pk == key.pk
    other, other_raw = make_key([Scope.MEMBERS_READ])
    assert other.prefix != key.prefix
    assert api_key_authenticate(other_raw).pk == other.pk


def test_last_used_at_is_set_on_use(make_key, member):
    key, raw = make_key()
    assert key.last_used_at is None
    before = timezone.now()
    assert client_for(raw).get(f"{API}/members/{member.pk}").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert before <= key.last_used_at <= timezone.now()
    # a failed authentication of another key does not touch it
    first_use = key.last_used_at
    client_for(f"lk_{key.prefix}_wrong").get(f"{API}/members/{member.pk}")
    key.refresh_from_db()
    assert key.last_used_at == first_use
    # written at most once a minute, then again
    later = first_use + timedelta(minutes=2)
    api_key_authenticate(raw, now=later)
    key.refresh_from_db()
    assert key.last_used_at == later


def test_throttle_is_per_key(make_key, member):
    _, slow = make_key(rate_per_minute=3)
    _, other = make_key(rate_per_minute=3)
    slow_client, other_client = client_for(slow), client_for(other)
    url = f"{API}/members/{member.pk}"
    for _ in range(3):
        assert slow_client.get(url).status_code == 200
    response = slow_client.get(url)
    assert response.status_code == 429
    assert error_code(response) == "throttled"
    assert int(response["Retry-After"]) > 0
    # the other key has its own budget
    for _ in range(3):
        assert other_client.get(url).status_code == 200
    assert other_client.get(url).status_code == 429
    # and the throttled key stays throttled
    assert slow_client.get(url).status_code == 429


def test_rate_of_one_request_per_minute(make_key, member):
    _, raw = make_key(rate_per_minute=1)
    assert client_for(raw).get(f"{API}/members/{member.pk}").status_code == 200
    assert client_for(raw).get(f"{API}/members/{member.pk}").status_code == 429
