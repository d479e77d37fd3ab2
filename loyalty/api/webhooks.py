"""Webhook subscriptions for integrators (scope `webhooks:admin`): the same operations as the
console — list, create, change, switch on and off, a test ping, secret rotation — and each
subscription's deliveries with their last attempt. The key's owner owns what it creates
(the person told when a receiver keeps failing). The secret is shown when a subscription is
created and when it is rotated, never in a listing."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from core.text import one_line_text

from ..errors import ApiError, WebhookErrorCode
from ..models.webhooks import EventType, WebhookDelivery, WebhookSubscription
from ..services.webhooks import (
    webhook_ping,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_update,
)
from .base import MAX_ID, ApiView
from .fields import Boolean, Input, Text
from .pagination import Page

_url = URLValidator(schemes=["http", "https"])


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(EventType.values))
    is_active = serializers.BooleanField(help_text="Off: nothing is sent. Switched off for "
                                                   "failing: events keep queueing.")
    failing_since = serializers.DateTimeField(allow_null=True)
    switched_off_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was switched off after failing for a day.")
    created_at = serializers.DateTimeField()


class SubscriptionSecretSerializer(SubscriptionSerializer):
    secret = serializers.CharField(help_text="Signs every delivery (HMAC-SHA256); shown "
                                             "only now.")


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new secret. The previous one keeps "
                                             "signing too until `previous_valid_until`.")
    previous_valid_until = serializers.DateTimeField()


class SubscriptionInputSerializer(Input):
    name = Text(max_length=100)
    url = Text(max_length=500, help_text="http or https; receives POSTed JSON events.")
    event_types = serializers.ListField(child=serializers.ChoiceField(EventType.values),
                                        max_length=len(EventType.values),
                                        help_text="The events to receive.")
    is_active = Boolean(required=False, default=True)


class SubscriptionChangeSerializer(Input):
    name = Text(max_length=100, required=False)
    url = Text(max_length=500, required=False)
    event_types = serializers.ListField(child=serializers.ChoiceField(EventType.values),
                                        max_length=len(EventType.values), required=False)
    is_active = Boolean(required=False, help_text="Switching on again sends what queued "
                                                  "meanwhile, in order.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    member_id = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(WebhookDelivery.State.values)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    last_status = serializers.IntegerField(allow_null=True)
    last_latency_ms = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()


def _checked(data: dict) -> dict:
    if "url" in data:
        try:
            _url(data["url"])
            one_line_text(data["url"])
        except DjangoValidationError:
            raise ApiError(WebhookErrorCode.URL_INVALID) from None
    if "event_types" in data and not data["event_types"]:
        raise ApiError(WebhookErrorCode.EVENT_TYPES_REQUIRED)
    return data


def subscription_or_404(subscription_id: int) -> WebhookSubscription:
    sub = (WebhookSubscription.objects.filter(pk=subscription_id).first()
           if 0 < subscription_id <= MAX_ID else None)
    if sub is None:
        raise ApiError(WebhookErrorCode.SUBSCRIPTION_NOT_FOUND)
    return sub


INPUT_ERRORS = (WebhookErrorCode.URL_INVALID, WebhookErrorCode.EVENT_TYPES_REQUIRED)


class SubscriptionListView(ApiView, generics.ListAPIView):
    """The subscriptions (GET) and a new one (POST)."""

    required_scopes = ("webhooks:admin",)
    serializer_class = SubscriptionSerializer
    pagination_class = Page
    errors = INPUT_ERRORS

    def get_queryset(self):
        return WebhookSubscription.objects.all()

    @extend_schema(operation_id="webhookSubscriptions", summary="Webhook subscriptions",
                   tags=["webhooks"])
    def get(self, request, *args, **kwargs):
        """Every webhook subscription, newest first, with its state (on, off, switched
        off for failing). Secrets are never listed."""
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="webhookSubscriptionCreate", request=SubscriptionInputSerializer,
                   responses={201: SubscriptionSecretSerializer},
                   summary="Subscribe a receiver to events", tags=["webhooks"])
    def post(self, request):
        """Subscribe a receiver (http or https) to event types. The key's owner owns the
        subscription and is told when its receiver keeps failing; the secret that signs
        its deliveries is in this answer, once."""
        serializer = SubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _checked(serializer.validated_data)
        sub = webhook_subscription_create(name=data["name"], url=data["url"],
                                          event_types=data["event_types"],
                                          owner_id=request.auth.owner_id,
                                          is_active=data["is_active"])
        body = SubscriptionSerializer(sub).data | {"secret": sub.secret}
        return Response(body, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(ApiView):
    """One subscription (GET) and its changes (PATCH)."""

    required_scopes = ("webhooks:admin",)
    errors = (WebhookErrorCode.SUBSCRIPTION_NOT_FOUND, *INPUT_ERRORS)

    @extend_schema(operation_id="webhookSubscription", responses=SubscriptionSerializer,
                   summary="A webhook subscription", tags=["webhooks"])
    def get(self, request, subscription_id: int):
        """One subscription: its URL, event types, whether it is on, and since when its
        receiver has been failing."""
        return Response(SubscriptionSerializer(subscription_or_404(subscription_id)).data)

    @extend_schema(operation_id="webhookSubscriptionChange", request=SubscriptionChangeSerializer,
                   responses=SubscriptionSerializer, summary="Change a webhook subscription",
                   tags=["webhooks"])
    def patch(self, request, subscription_id: int):
        """Change a subscription's name, URL or event types, or switch it off or on.
        Switching on again clears its failure record: the events that queued meanwhile
        go out, in order per member."""
        sub = subscription_or_404(subscription_id)
        serializer = SubscriptionChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _checked(serializer.validated_data)
        webhook_subscription_update(
            subscription_id=sub.pk, name=data.get("name", sub.name), url=data.get("url", sub.url),
            event_types=data.get("event_types", sub.event_types), owner_id=sub.owner_id,
            is_active=data.get("is_active", sub.is_active))
        return Response(SubscriptionSerializer(subscription_or_404(sub.pk)).data)


class PingSerializer(serializers.Serializer):
    delivered = serializers.BooleanField()
    status = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status.")
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(help_text="Why it failed; empty when delivered.")


class SubscriptionPingView(ApiView):
    """Send a signed `ping` event to the receiver now, whether the subscription is on or
    not, and answer what the receiver said."""

    required_scopes = ("webhooks:admin",)
    errors = (WebhookErrorCode.SUBSCRIPTION_NOT_FOUND,)

    @extend_schema(operation_id="webhookPing", request=None, responses=PingSerializer,
                   summary="Send a test event", tags=["webhooks"])
    def post(self, request, subscription_id: int):
        sub = subscription_or_404(subscription_id)
        d = webhook_ping(subscription_id=sub.pk)
        return Response(PingSerializer({
            "delivered": d.state == WebhookDelivery.State.DELIVERED, "status": d.last_status,
            "latency_ms": d.last_latency_ms, "error": d.last_error}).data)


class SubscriptionRotateView(ApiView):
    """A new secret for a subscription. Both the new and the previous secret sign every
    delivery for 24 hours, so the receiver can switch without losing an event."""

    required_scopes = ("webhooks:admin",)
    errors = (WebhookErrorCode.SUBSCRIPTION_NOT_FOUND,)

    @extend_schema(operation_id="webhookSecretRotate", request=None, responses=SecretSerializer,
                   summary="Rotate a subscription's secret", tags=["webhooks"])
    def post(self, request, subscription_id: int):
        sub = subscription_or_404(subscription_id)
        secret = webhook_secret_rotate(subscription_id=sub.pk)
        sub.refresh_from_db()
        return Response(SecretSerializer({"secret": secret,
                                          "previous_valid_until": sub.previous_secret_until}).data)


class DeliveriesQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(WebhookDelivery.State.values, required=False)


class SubscriptionDeliveriesView(ApiView, generics.ListAPIView):
    """A subscription's deliveries, newest first, with their last attempt (status, latency,
    error); `state` filters pending, delivered or given-up ones."""

    required_scopes = ("webhooks:admin",)
    serializer_class = DeliverySerializer
    pagination_class = Page
    errors = (WebhookErrorCode.SUBSCRIPTION_NOT_FOUND,)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WebhookDelivery.objects.none()
        sub = subscription_or_404(self.kwargs["subscription_id"])
        query = DeliveriesQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        rows = WebhookDelivery.objects.filter(subscription=sub)
        if "state" in query.validated_data:
            rows = rows.filter(state=query.validated_data["state"])
        return rows

    @extend_schema(operation_id="webhookDeliveries", parameters=[
        OpenApiParameter("state", str, enum=WebhookDelivery.State.values, required=False)],
        summary="A subscription's deliveries", tags=["webhooks"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
