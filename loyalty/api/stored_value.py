"""Stored value (储值): a member's prepaid balance — top-up, spend, refund of the principal.

Every write requires an `Idempotency-Key`: the key, scoped to the API key, is also the
ledger entry's key, so a movement happens once however often it is sent."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode
from points.errors import StoredValueErrorCode
from points.models import StoredValueEntry
from points.selectors.stored_value import stored_value_for
from points.services.stored_value import (
    stored_value_refund,
    stored_value_spend,
    stored_value_top_up,
)

from .base import ApiView, member_or_404
from .fields import Boolean, Input, Money
from .idempotency import idempotency_key, run_idempotent
from .points import spend_reference


class StoredValueBalanceSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    principal = serializers.DecimalField(max_digits=12, decimal_places=2,
                                         help_text="Money paid in; refundable.")
    bonus = serializers.DecimalField(max_digits=12, decimal_places=2,
                                     help_text="Given with top-ups; spendable, never refunded, "
                                               "expires.")
    balance = serializers.DecimalField(max_digits=12, decimal_places=2,
                                       help_text="Principal + bonus: what may be spent.")
    bonus_expiring = serializers.ListField(
        child=serializers.DictField(), help_text="Bonus still to spend per lot, soonest to "
                                                 "expire first: {amount, expires_at}.")


class StoredValueEntrySerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2,
                                      help_text="Principal + bonus change.")

    class Meta:
        model = StoredValueEntry
        fields = ("id", "kind", "amount", "principal_delta", "bonus_delta", "order",
                  "created_at")


class StoredValueOutcomeSerializer(serializers.Serializer):
    entry = StoredValueEntrySerializer()
    balance = StoredValueBalanceSerializer()


class TopUpInputSerializer(Input):
    amount = Money(help_text="Yuan paid in, e.g. \"500.00\" (at most 1000000.00).")
    with_bonus = Boolean(default=True, help_text="Give the bonus of the best top-up rule the "
                                                 "amount reaches (top up ¥500, get ¥50).")


class AmountInputSerializer(Input):
    amount = Money(help_text="Yuan, e.g. \"30.00\".")


def _body(movement) -> dict:
    return {"entry": StoredValueEntrySerializer(movement.entry).data,
            "balance": StoredValueBalanceSerializer(
                stored_value_for(movement.entry.member_id)).data}


class StoredValueView(ApiView):
    """A member's stored value: principal, bonus, what may be spent, and when the bonus
    expires."""

    required_scopes = ("members:read",)

    @extend_schema(operation_id="storedValueBalance", responses=StoredValueBalanceSerializer,
                   summary="A member's stored value", tags=["stored value"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        return Response(StoredValueBalanceSerializer(stored_value_for(member.pk)).data)


class _Movement(ApiView):
    idempotency = "required"
    service = None
    request_serializer = AmountInputSerializer

    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = spend_reference(request.auth.pk, idempotency_key(request, required=True))

        def work():
            movement = type(self).service(member_id=member.pk, key=key,
                                          **serializer.validated_data)
            return Response(_body(movement), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


COMMON = (MemberErrorCode.MEMBER_NOT_FOUND, StoredValueErrorCode.AMOUNT_INVALID,
          StoredValueErrorCode.KEY_CONFLICT)


class TopUpView(_Movement):
    """Top up: the amount becomes principal, and the best active top-up rule it reaches
    adds its bonus ("top up ¥500, get ¥50": ¥500 in, ¥550 to spend), which expires as the rule says.
    No points are earned at a top-up: points come when the stored value pays for goods."""

    required_scopes = ("stored_value:write",)
    errors = COMMON
    request_serializer = TopUpInputSerializer
    service = staticmethod(stored_value_top_up)

    @extend_schema(operation_id="storedValueTopUp", request=TopUpInputSerializer,
                   responses={201: StoredValueOutcomeSerializer},
                   summary="Top up stored value (with the bonus it earns)",
                   tags=["stored value"])
    def post(self, request, member_id: int):
        return super().post(request, member_id)


class SpendView(_Movement):
    """Spend stored value outside a sale (a sale pays with it through its `tenders`):
    bonus and principal in the programme's order, never below zero
    (`insufficient_stored_value`)."""

    required_scopes = ("stored_value:write",)
    errors = (*COMMON, StoredValueErrorCode.INSUFFICIENT)
    service = staticmethod(stored_value_spend)

    @extend_schema(operation_id="storedValueSpend", request=AmountInputSerializer,
                   responses={201: StoredValueOutcomeSerializer},
                   summary="Spend stored value", tags=["stored value"])
    def post(self, request, member_id: int):
        return super().post(request, member_id)


class RefundView(_Movement):
    """Refund principal to the member (money paid out): never the bonus, which is forfeited
    in the proportion of the principal refunded (`refund_exceeds_principal` beyond it)."""

    required_scopes = ("stored_value:admin",)
    errors = (*COMMON, StoredValueErrorCode.REFUND_EXCEEDS_PRINCIPAL)
    service = staticmethod(stored_value_refund)

    @extend_schema(operation_id="storedValueRefund", request=AmountInputSerializer,
                   responses={201: StoredValueOutcomeSerializer},
                   summary="Refund stored value (principal only)", tags=["stored value"])
    def post(self, request, member_id: int):
        return super().post(request, member_id)

