"""Paid membership: the storefront reports a purchase it was paid for (no payment is taken
here). Idempotent by the storefront's purchase id, with or without `Idempotency-Key`."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tiers.errors import TierErrorCode
from tiers.models.paid import PaidPurchase, PurchaseChannel
from tiers.services.paid import paid_purchase

from .base import ApiView, member_or_404
from .benefits import PaidMembershipSerializer
from .fields import NON_BLANK_TEXT, SLUG, Input, Money, Text
from .idempotency import run_idempotent

# The storefront's purchase id: anything printed on a receipt, without control characters.
PURCHASE_ID = NON_BLANK_TEXT


class PurchaseInputSerializer(Input):
    plan = Text(max_length=32, pattern=SLUG, help_text="The plan's code, e.g. annual.")
    purchase_id = Text(max_length=64, pattern=PURCHASE_ID,
                       help_text="The storefront's id for this purchase: printable text, no "
                                 "control characters.")
    amount = Money(whole_digits=8, help_text="CNY actually paid.")


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
    """Report a paid-membership purchase the storefront was paid for (no payment is taken
    here): the membership starts now, or renews from its current end while still active.
    The same purchase id sent again answers the first purchase (200); another purchase under
    a used id is refused. Only an active member can buy a plan."""

    required_scopes = ("orders:write",)
    idempotency = "optional"
    errors = (TierErrorCode.PLAN_NOT_FOUND, TierErrorCode.MEMBER_NOT_ACTIVE,
              TierErrorCode.PURCHASE_ID_CONFLICT)

    @extend_schema(operation_id="paidMembershipPurchase", request=PurchaseInputSerializer,
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
