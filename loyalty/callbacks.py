"""Provider callbacks for messages (not part of the REST API: the provider, not an API
client, calls them). Each POST carries a JSON body signed with the channel's secret
(`X-Signature: sha256=<hex HMAC of the body>`, as the HTTP backend signs what it sends);
an unsigned or wrongly signed call is refused 403 and changes nothing.

- `POST /callbacks/sms/inbound` `{"mobile": …, "text": …}`: a member's reply; 退订 / TD
  withdraws SMS marketing consent.
- `POST /callbacks/sms/receipt` `{"key": "message:<id>", "status": "delivered"}`: a delivery
  receipt; the sent message becomes delivered (once).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.http import HttpRequest, JsonResponse
from django.http.request import RawPostDataException
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns.channels import channel_settings
from campaigns.services.delivery import message_delivered
from campaigns.services.sms import sms_inbound

MAX_BODY = 16_384


def _signed_json(request: HttpRequest, channel: str) -> dict | None:
    secret = (channel_settings(channel).get("secret") or "").encode()
    if request.content_type != "application/json":
        return None
    try:
        body = request.body[:MAX_BODY + 1]
    except RawPostDataException:
        return None
    if not secret or len(body) > MAX_BODY:
        return None
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _refused() -> JsonResponse:
    return JsonResponse({"error": {"code": "bad_signature"}}, status=403)


@csrf_exempt
@require_POST
def sms_inbound_view(request: HttpRequest) -> JsonResponse:
    data = _signed_json(request, "sms")
    if data is None:
        return _refused()
    mobile, text = data.get("mobile"), data.get("text")
    if not isinstance(mobile, str) or not isinstance(text, str) or len(text) > 500:
        return JsonResponse({"error": {"code": "invalid_input"}}, status=400)
    changed = sms_inbound(mobile=mobile, text=text)
    return JsonResponse({"opted_out": len(changed)})


@csrf_exempt
@require_POST
def sms_receipt_view(request: HttpRequest) -> JsonResponse:
    data = _signed_json(request, "sms")
    if data is None:
        return _refused()
    key, status = data.get("key"), data.get("status")
    if (not isinstance(key, str) or not key.startswith("message:")
            or not key[8:].isascii() or not key[8:].isdigit() or len(key) > 30):
        return JsonResponse({"error": {"code": "invalid_input"}}, status=400)
    changed = status == "delivered" and message_delivered(message_id=int(key[8:]))
    return JsonResponse({"changed": bool(changed)})
