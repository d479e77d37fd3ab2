"""Gift cards: balance enquiry by code and PIN, activation when sold, spending.

The PIN travels in the body, never in a URL. Enquiries are limited per card (a card that
has taken too many wrong PINs answers 429 until its window ends, even to the right PIN) and
per API key (so many a minute); a wrong code and a wrong PIN answer alike (404)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from points.errors import GiftCardErrorCode, StoredValueErrorCode
from points.models import GiftCard, GiftCardEntry
from points.services.gift_cards import (
    gift_card_activate,
    gift_card_enquire,
    gift_card_spend,
)

from .base import ApiView
from .fields import Input, Money, Text
from .idempotency import idempotency_key, run_idempotent
from .points import spend_reference

CODE_PATTERN = r"^[0-9]{16}$"
PIN_PATTERN = r"^[0-9]{6}$"


class GiftCardSerializer(serializers.ModelSerializer):
    code = serializers.SerializerMethodField(help_text="The code's last four digits.")

    class Meta:
        model = GiftCard
        fields = ("code", "state", "face_value", "balance", "activated_at", "expires_at")

    def get_code(self, card) -> str:
        return f"…{card.code[-4:]}"


class GiftCardEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = GiftCardEntry
        fields = ("id", "kind", "amount", "order", "created_at")


class GiftCardOutcomeSerializer(serializers.Serializer):
    entry = GiftCardEntrySerializer()
    card = GiftCardSerializer()


class CodePinSerializer(Input):
    code = Text(max_length=16, pattern=CODE_PATTERN, help_text="The card's 16 digits.")
    pin = Text(max_length=6, pattern=PIN_PATTERN, help_text="The card's 6-digit PIN.")


class ActivateSerializer(Input):
    code = Text(max_length=16, pattern=CODE_PATTERN, help_text="The card's 16 digits.")


class SpendSerializer(CodePinSerializer):
    amount = Money(help_text="Yuan, e.g. \"30.00\".")


class EnquiryView(ApiView):
    """A card's balance, state and expiry, by code and PIN. At most
    `GIFT_CARD_ENQUIRIES_PER_MINUTE` (30) enquiries a minute per API key, and a card takes
    `GIFT_CARD_PIN_FAILURES` (5) wrong PINs per 15 minutes: past either, 429
    `gift_card_enquiries_throttled` with `Retry-After`."""

    required_scopes = ("gift_cards:read",)
    errors = (GiftCardErrorCode.CARD_NOT_FOUND, GiftCardErrorCode.TOO_MANY_ENQUIRIES)

    @extend_schema(operation_id="giftCardEnquiry", request=CodePinSerializer,
                   responses=GiftCardSerializer, summary="A gift card's balance",
                   tags=["gift cards"])
    def post(self, request):
        serializer = CodePinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        card = gift_card_enquire(**serializer.validated_data,
                                 caller=f"api-key:{request.auth.pk}")
        return Response(GiftCardSerializer(card).data)


class ActivateView(ApiView):
    """Activate a card when it is sold: its balance becomes its face value and its validity
    starts. A card activates once (`gift_card_not_active` after)."""

    required_scopes = ("gift_cards:write",)
    idempotency = "required"
    errors = (GiftCardErrorCode.CARD_NOT_FOUND, GiftCardErrorCode.CARD_NOT_ACTIVE,
              GiftCardErrorCode.KEY_CONFLICT)

    @extend_schema(operation_id="giftCardActivate", request=ActivateSerializer,
                   responses={201: GiftCardOutcomeSerializer}, summary="Activate a gift card",
                   tags=["gift cards"])
    def post(self, request):
        serializer = ActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = spend_reference(request.auth.pk, idempotency_key(request, required=True))

        def work():
            movement = gift_card_activate(code=serializer.validated_data["code"], key=key)
            return Response({"entry": GiftCardEntrySerializer(movement.entry).data,
                             "card": GiftCardSerializer(movement.entry.card).data},
                            status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class SpendView(ApiView):
    """Spend from a card outside a sale (a sale pays with it through its `tenders`): code
    and PIN, never more than its balance, never after it expires."""

    required_scopes = ("gift_cards:write",)
    idempotency = "required"
    errors = (GiftCardErrorCode.CARD_NOT_FOUND, GiftCardErrorCode.CARD_NOT_ACTIVE,
              GiftCardErrorCode.CARD_EXPIRED, GiftCardErrorCode.INSUFFICIENT,
              GiftCardErrorCode.TOO_MANY_ENQUIRIES, GiftCardErrorCode.KEY_CONFLICT,
              StoredValueErrorCode.AMOUNT_INVALID)

    @extend_schema(operation_id="giftCardSpend", request=SpendSerializer,
                   responses={201: GiftCardOutcomeSerializer}, summary="Spend from a gift card",
                   tags=["gift cards"])
    def post(self, request):
        serializer = SpendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = spend_reference(request.auth.pk, idempotency_key(request, required=True))

        def work():
            movement = gift_card_spend(key=key, **serializer.validated_data)
            return Response({"entry": GiftCardEntrySerializer(movement.entry).data,
                             "card": GiftCardSerializer(movement.entry.card).data},
                            status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)
