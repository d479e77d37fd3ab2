"""Paid membership: the storefront reports a purchase it was paid for (no payment is taken
here). Idempotent by the storefront's purchase id, with or without `Idempotency-Key`."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tiers.paid import MAX_AMOUNT, paid_purchase
from tiers.paid_models import PaidPurchase, PurchaseChannel

from .base import ApiView, member_or_404
from .benefits import PaidMembershipSerializer
from .idempotency import run_idempotent


class PurchaseInputSerializer(serializers.Serializer):
    plan = serializers.SlugField(max_length=32, help_text="The plan's code, e.g. annual.")
    purchase_id = serializers.CharField(max_length=64,
                                        help_text="The storefront's id for this purchase.")
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0,
                                      max_value=MAX_AMOUNT, help_text="CNY actually paid.")

    def validate_purchase_id(self, value: str) -> str:
        value = value.strip()
        if not value or not value.isprintable():
            raise serializers.ValidationError("must be printable text")
        return value


class PurchaseSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code")

    class Meta:
        model = PaidPurchase
        fields = ("id", "purchase_id", "plan", "kind", "amount", "period_start", "period_end",
                  "created_at")


class PurchaseOutcomeSerializer(serializers.Serializer):
    purchase = PurchaseSerializer()
    membership = PaidMembershipSerializer()


class PaidPurchaseView(ApiView):
    required_scopes = ("orders:write",)
    idempotency = "optional"

    @extend_schema(request=PurchaseInputSerializer,
                   responses={201: PurchaseOutcomeSerializer, 200: PurchaseOutcomeSerializer},
                   tags=["paid membership"],
                   summary="Report a paid-membership purchase (renews from the current end "
                           "while active); the same purchase id answers the first (200)")
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = PurchaseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def work():
            outcome = paid_purchase(member_id=member.pk, plan_code=data["plan"],
                                    purchase_id=data["purchase_id"], amount=data["amount"],
                                    channel=PurchaseChannel.API)
            body = PurchaseOutcomeSerializer(
                {"purchase": outcome.purchase, "membership": outcome.membership},
                context={"now": timezone.now()}).data
            return Response(body, status=status.HTTP_201_CREATED if outcome.created
                            else status.HTTP_200_OK)

        return run_idempotent(request, work, required=False)
