"""Partner exchange: points in from a partner programme and out to it.

Idempotent twice over: the `Idempotency-Key` header (required, as for spending) and the
partner's own transaction id, recorded once per partner and direction."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from points import selectors
from points.partners import partner_exchange_in, partner_exchange_out
from points.services import MAX_POINTS

from .base import MAX_ID, ApiView, member_or_404
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


class ExchangeInInputSerializer(serializers.Serializer):
    member = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    partner_points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    external_id = serializers.CharField(max_length=100,
                                        help_text="The partner's transaction id.")


class ExchangeOutInputSerializer(serializers.Serializer):
    member = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    external_id = serializers.CharField(max_length=100,
                                        help_text="The partner's transaction id.")


class ExchangeInView(ApiView):
    required_scopes = ("points:write",)
    idempotency = "required"

    @extend_schema(request=ExchangeInInputSerializer, responses={201: ExchangeOutcomeSerializer},
                   summary="Exchange partner points in for our points", tags=["partners"])
    def post(self, request, partner_code: str):
        serializer = ExchangeInInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = member_or_404(data["member"])

        def work():
            outcome = partner_exchange_in(partner_code=partner_code, member_id=member.pk,
                                          partner_points=data["partner_points"],
                                          external_id=data["external_id"])
            return Response(outcome_body(outcome), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class ExchangeOutView(ApiView):
    required_scopes = ("points:write",)
    idempotency = "required"

    @extend_schema(request=ExchangeOutInputSerializer, responses={201: ExchangeOutcomeSerializer},
                   summary="Exchange our points out for partner points", tags=["partners"])
    def post(self, request, partner_code: str):
        serializer = ExchangeOutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = member_or_404(data["member"])

        def work():
            outcome = partner_exchange_out(partner_code=partner_code, member_id=member.pk,
                                           points=data["points"],
                                           external_id=data["external_id"])
            return Response(outcome_body(outcome), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)
