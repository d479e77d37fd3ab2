"""Channel backends: how a rendered message leaves the programme.

Each channel names its backend by dotted path in `settings.MESSAGE_CHANNELS`. A backend's
`send(outgoing)` returns `Sent` (delivered at once, or accepted and awaiting a delivery
receipt) or raises `SendFailed`; it must be idempotent per `outgoing.key`: the sender may
call it again for the same message (after a timeout, or after a worker died between the
call and its record), always with the same key.

- `OutboxBackend` (the default): records the message in `campaigns_outboxmessage` once per
  message and reports it delivered — the programme runs end to end without a provider.
- `HttpBackend`: POSTs the message as JSON to the channel's URL, signed with its secret
  (`X-Signature: sha256=<hex HMAC of the body>`), the key in `Idempotency-Key`. A 2xx is
  delivered, or only sent when the answer says `{"status": "accepted"}` (a delivery
  receipt follows); anything else, or no answer in time, is a failure to retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    key: str  # the idempotency key: the same for every attempt of one message
    channel: str
    kind: str
    member_id: int
    member_no: str
    mobile: str
    body: str
    attempt: int


@dataclass(frozen=True)
class Sent:
    delivered: bool
    provider_ref: str = ""


class SendFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:300]


def channel_settings(channel: str) -> dict:
    return settings.MESSAGE_CHANNELS.get(channel) or {}


def channel_cost(channel: str) -> Decimal:
    try:
        return Decimal(str(channel_settings(channel).get("cost") or "0")).quantize(
            Decimal("0.01"))
    except ArithmeticError:
        return Decimal("0.00")


def backend_for(channel: str):
    config = channel_settings(channel)
    return import_string(config.get("backend") or "campaigns.channels.OutboxBackend")(
        channel, config)


class OutboxBackend:
    def __init__(self, channel: str, config: dict):
        self.channel = channel

    def send(self, outgoing: Outgoing, now: datetime) -> Sent:
        recipient = outgoing.mobile or outgoing.member_no
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO campaigns_outboxmessage
                       (message_id, channel, recipient, body, recorded_at)
                   VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_id) DO NOTHING""",
                [outgoing.message_id, outgoing.channel, recipient, outgoing.body, now])
        return Sent(delivered=True, provider_ref=f"outbox:{outgoing.message_id}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer that is not 2xx: retried, never followed


_OPENER = urllib.request.build_opener(_NoRedirect)


class HttpBackend:
    def __init__(self, channel: str, config: dict):
        self.channel = channel
        self.url = config.get("url") or ""
        self.secret = (config.get("secret") or "").encode()
        self.timeout = settings.MESSAGE_HTTP_TIMEOUT_SECONDS

    def send(self, outgoing: Outgoing, now: datetime) -> Sent:
        if not self.url:
            raise SendFailed(f"no URL for channel {self.channel}")
        body = json.dumps(asdict(outgoing), ensure_ascii=False, separators=(",", ":")).encode()
        signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": outgoing.key,
            "X-Signature": f"sha256={signature}"})
        try:
            with _OPENER.open(request, timeout=self.timeout) as answer:
                status_code, text = answer.status, answer.read(65536)
        except urllib.error.HTTPError as error:
            raise SendFailed(f"HTTP {error.code}") from None
        except (TimeoutError, socket.timeout):
            raise SendFailed("timeout") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise SendFailed("timeout") from None
            raise SendFailed(f"connection: {type(reason).__name__}") from None
        if not 200 <= status_code < 300:
            raise SendFailed(f"HTTP {status_code}")
        try:
            data = json.loads(text or b"{}")
        except ValueError:
            data = {}
        status = data.get("status") if isinstance(data, dict) else None
        ref = data.get("id") if isinstance(data, dict) else None
        return Sent(delivered=status != "accepted", provider_ref=str(ref or "")[:64])


class ClerkCallBackend(OutboxBackend):
    """The clerk call channel's default: the script is recorded in the outbox and the task
    stays open (sent) on the counter page of the member's home store until a clerk records
    its outcome (campaigns.services.call_tasks)."""

    def send(self, outgoing: Outgoing, now: datetime) -> Sent:
        super().send(outgoing, now)
        return Sent(delivered=False, provider_ref=f"call:{outgoing.message_id}")
