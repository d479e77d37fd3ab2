"""Wrong API keys are throttled per address: a key cannot be found by trying."""

from __future__ import annotations

from django.conf import settings

from .conftest import API, client_for


def test_wrong_api_keys_are_throttled_per_address(make_key):
    _key, raw = make_key()
    limit = settings.API_KEY_FAILURES_PER_MINUTE
    wrong = client_for("lk_deadbeef_not-a-real-secret")
    answers = [wrong.get(f"{API}/members/1", REMOTE_ADDR="198.51.100.9").status_code
               for _ in range(limit + 5)]
    assert answers[:limit] == [401] * limit
    assert set(answers[limit:]) == {429}
    blocked = client_for(raw).get(f"{API}/members/1", REMOTE_ADDR="198.51.100.9")
    assert blocked.status_code == 429 and 0 < int(blocked["Retry-After"]) <= 61
    assert blocked.json()["error"]["code"] == "throttled"
    other = client_for(raw).get(f"{API}/members/1", REMOTE_ADDR="203.0.113.7")
    assert other.status_code == 404  # another address, the right key: no member 1
