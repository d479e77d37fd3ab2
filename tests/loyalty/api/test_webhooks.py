"""/webhooks/subscriptions (scope `webhooks:admin`): integrators manage subscriptions as the
console does — create (the secret once), list (no secrets), change, switch off and on, rotate
the secret, ping a real local receiver, read the deliveries."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loyalty.models import WebhookSubscription
from loyalty.services.webhooks import webhook_signature

from .conftest import API, client_for

pytestmark = pytest.mark.django_db
URL = f"{API}/webhooks/subscriptions"


@pytest.fixture
def receiver():
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin_api(make_key):
    return client_for(make_key(scopes=["webhooks:admin"])[1])


def _create(api, **fields):
    body = {"name": "CRM", "url": "https://crm.example.com/hooks",
            "event_types": ["points.earned", "member.updated"]} | fields
    return api.post(URL, body, format="json")


def test_create_answers_the_secret_once_and_the_key_owner_owns_it(admin_api, owner):
    answer = _create(admin_api)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert len(body["secret"]) == 64 and body["is_active"] is True
    sub = WebhookSubscription.objects.get(pk=body["id"])
    assert (sub.owner_id, sub.secret, sub.event_types) == (
        owner.pk, body["secret"], ["member.updated", "points.earned"])  # in catalogue order
    listed = admin_api.get(URL).json()["results"]
    assert [s["id"] for s in listed] == [sub.pk] and "secret" not in listed[0]
    assert "secret" not in admin_api.get(f"{URL}/{sub.pk}").json()


@pytest.mark.parametrize("fields,code", [
    ({"url": "ftp://crm.example.com/hooks"}, "webhook_url_invalid"),
    ({"url": "not a url"}, "webhook_url_invalid"),
    ({"event_types": []}, "webhook_event_types_required"),
    ({"event_types": ["points.stolen"]}, "invalid_input"),
])
def test_bad_input_is_refused_with_its_code_and_writes_nothing(admin_api, fields, code):
    answer = _create(admin_api, **fields)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert not WebhookSubscription.objects.exists()


def test_change_switch_off_and_on_clears_the_failure_record(admin_api):
    sub_id = _create(admin_api).json()["id"]
    WebhookSubscription.objects.filter(pk=sub_id).update(
        is_active=False, failing_since="2026-12-01T00:00:00Z",
        switched_off_at="2026-12-02T00:00:00Z")
    answer = admin_api.patch(f"{URL}/{sub_id}", {"is_active": True,
                                                  "event_types": ["tier.changed"]},
                             format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["is_active"], body["event_types"], body["failing_since"],
            body["switched_off_at"], body["name"]) == (True, ["tier.changed"], None, None, "CRM")
    assert admin_api.patch(f"{URL}/{sub_id}", {"url": "javascript:alert(1)"},
                           format="json").json()["error"]["code"] == "webhook_url_invalid"
    missing = admin_api.get(f"{URL}/{sub_id + 1000}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "webhook_subscription_not_found"


def test_rotate_ping_and_deliveries(admin_api, receiver):
    url, seen = receiver
    created = _create(admin_api, url=url).json()
    rotated = admin_api.post(f"{URL}/{created['id']}/rotate-secret", format="json")
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["secret"]
    assert new != created["secret"] and rotated.json()["previous_valid_until"]
    ping = admin_api.post(f"{URL}/{created['id']}/ping", format="json")
    assert ping.status_code == 200, ping.content
    assert ping.json()["delivered"] is True and ping.json()["status"] == 204
    # signed with both secrets during the rotation
    (request,) = seen
    stamp = int(request["headers"]["X-Loyalty-Timestamp"])
    signatures = request["headers"]["X-Loyalty-Signature"]
    for secret in (new, created["secret"]):
        assert f"v1={webhook_signature(secret, stamp, request['body'])}" in signatures
    deliveries = admin_api.get(f"{URL}/{created['id']}/deliveries?state=delivered").json()
    [delivery] = deliveries["results"]
    assert (delivery["event_type"], delivery["state"], delivery["last_status"]) == (
        "ping", "delivered", 204)
    assert admin_api.get(f"{URL}/{created['id']}/deliveries?state=pending").json()[
        "results"] == []


def test_other_scopes_cannot_touch_subscriptions(make_key):
    api = client_for(make_key(scopes=["members:read", "points:admin"])[1])
    assert api.get(URL).status_code == 403
    assert _create(api).status_code == 403
    assert not WebhookSubscription.objects.exists()
