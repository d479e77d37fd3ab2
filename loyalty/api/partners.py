"""Partner exchange: points in from a partner programme and out to it.

Idempotent twice over: the `Idempotency-Key` header (required, as for spending) and the
partner's own transaction id, recorded once per partner and direction."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode
from points.errors import PartnerErrorCode, PointsErrorCode
from points.selectors import ledger as selectors
from points.services.partners import partner_exchange_in, partner_exchange_out
from points.services.posting import MAX_POINTS

from .base import MAX_ID, ApiView, body_member
from .fields import Input, Integer, Text
from .idempotency import run_idempotent
from .points import BalanceSerializer


class ExchangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    partner = serializers.CharField(source="partner.code")
    member = serializers.IntegerField(source="member_id")
    direction = serializers.CharField()
    external_id = serializers.CharField()
    partner_points = serializers.IntegerField()
    points = serializers.IntegerField(help_text="Our points credited (in) or spent (out).")
    local_date = serializers.DateField(help_text="The Beijing day the limits count it in.")
    created_at = serializers.DateTimeField()


class ExchangeOutcomeSerializer(serializers.Serializer):
    exchange = ExchangeSerializer()
    balance = BalanceSerializer()


def outcome_body(outcome) -> dict:
    return {"exchange": ExchangeSerializer(outcome.exchange).data,
            "balance": BalanceSerializer(
                selectors.account_for(outcome.exchange.member_id)).data}


class ExchangeInInputSerializer(Input):
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    partner_points = Integer(min_value=1, max_value=MAX_POINTS)
    external_id = Text(max_length=100, help_text="The partner's transaction id.")


class ExchangeOutInputSerializer(Input):
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    points = Integer(min_value=1, max_value=MAX_POINTS)
    external_id = Text(max_length=100, help_text="The partner's transaction id.")


EXCHANGE_ERRORS = (MemberErrorCode.MEMBER_NOT_FOUND, PartnerErrorCode.PARTNER_NOT_FOUND,
                   PartnerErrorCode.PARTNER_INACTIVE, PartnerErrorCode.EXCHANGE_TOO_SMALL,
                   PartnerErrorCode.MEMBER_DAILY_LIMIT, PartnerErrorCode.PARTNER_DAILY_LIMIT,
                   PartnerErrorCode.EXCHANGE_CONFLICT, PointsErrorCode.MEMBER_FROZEN)


class ExchangeInView(ApiView):
    """Credit our points for points a partner programme took from the member, at the
    partner's rate (rounded down; less than one point is refused), within the member's and
    the partner's daily limits (Beijing days). The partner's transaction id is recorded
    once: sent again, it answers the first exchange."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (*EXCHANGE_ERRORS, PointsErrorCode.AMOUNT_TOO_LARGE)

    @extend_schema(operation_id="partnerExchangeIn", request=ExchangeInInputSerializer,
                   responses={201: ExchangeOutcomeSerializer},
                   summary="Exchange partner points in for our points", tags=["partners"])
    def post(self, request, partner_code: str):
        serializer = ExchangeInInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = body_member(data["member"])

        def work():
            outcome = partner_exchange_in(partner_code=partner_code, member_id=member.pk,
                                          partner_points=data["partner_points"],
                                          external_id=data["external_id"])
            return Response(outcome_body(outcome), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class ExchangeOutView(ApiView):
    """Spend our points for the partner programme's points, at the partner's rate, within
    the daily limits. The partner's transaction id is recorded once: sent again, it answers
    the first exchange."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (*EXCHANGE_ERRORS, PointsErrorCode.INSUFFICIENT_POINTS)

    @extend_schema(operation_id="partnerExchangeOut", request=ExchangeOutInputSerializer,
                   responses={201: ExchangeOutcomeSerializer},
                   summary="Exchange our points out for partner points", tags=["partners"])
    def post(self, request, partner_code: str):
        serializer = ExchangeOutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = body_member(data["member"])

        def work():
            outcome = partner_exchange_out(partner_code=partner_code, member_id=member.pk,
                                           points=data["points"],
                                           external_id=data["external_id"])
            return Response(outcome_body(outcome), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)
