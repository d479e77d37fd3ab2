"""The top layer's models, one module per feature; importing this package registers them all."""

from __future__ import annotations

from .api_keys import ApiKey, Scope
from .checkout import CheckoutCommit
from .dashboard import DashboardFact, Measure
from .health import Heartbeat
from .idempotency import IdempotencyRecord
from .member_code import MemberCodeUse
from .webhooks import EventType, WebhookDelivery, WebhookSubscription

__all__ = [
    "Scope", "ApiKey", "IdempotencyRecord", "CheckoutCommit", "Heartbeat", "MemberCodeUse",
    "EventType", "WebhookSubscription", "WebhookDelivery", "DashboardFact", "Measure",
]
