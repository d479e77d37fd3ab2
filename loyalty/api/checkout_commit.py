"""Checkout commit: coupon, points as cash, gifts and the sale in one transaction."""

from __future__ import annotations

import hashlib

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from points import selectors
from points.rewards import MAX_QUANTITY
from points.services import MAX_POINTS

from ..checkout_commit import CheckoutInput, CheckoutLine, GiftPick, checkout_commit
from .base import MAX_ID, ApiView
from .checkout import BasketLineSerializer, BasketSerializer
from .events import rule_results
from .idempotency import idempotency_key, run_idempotent
from .orders import (
    OrderOutputSerializer,
    PointsPaymentOutputSerializer,
    WarningSerializer,
    warnings_body,
)
from .points import BalanceSerializer
from .rewards import RedemptionSerializer


class GiftSerializer(serializers.Serializer):
    reward = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Reward id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)


class CommitInputSerializer(serializers.Serializer):
    member = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Member id.")
    store = serializers.CharField(max_length=32, help_text="Store code.")
    order_no = serializers.CharField(max_length=64)
    ordered_at = serializers.DateTimeField()
    lines = BasketLineSerializer(many=True, allow_empty=False, max_length=500,
                                 help_text="What each line costs before the member's "
                                           "discount.")
    coupon = serializers.CharField(max_length=32, required=False, allow_blank=True, default="",
                                   help_text="A coupon code to redeem on the order.")
    points = serializers.IntegerField(min_value=0, max_value=MAX_POINTS, default=0,
                                      help_text="Points to pay with, as cash.")
    gifts = GiftSerializer(many=True, required=False, default=list, allow_empty=False,
                           max_length=20,
                           help_text="Rewards the member takes at the till, for points.")

    def validate_lines(self, lines):
        return BasketSerializer.validate_lines(self, lines)  # each SKU once, a sane total

    def validate_gifts(self, gifts):
        rewards = [gift["reward"] for gift in gifts]
        if len(set(rewards)) != len(rewards):
            raise serializers.ValidationError("each reward once: add up its quantity")
        return gifts


class CouponUsedSerializer(serializers.Serializer):
    code = serializers.CharField()
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)


class CommitOutcomeSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when this key was already committed.")
    order = OrderOutputSerializer()
    points = serializers.IntegerField(help_text="Points the sale earned.")
    rules = serializers.ListField(child=serializers.DictField(),
                                 help_text="What each earning rule gave and why.")
    coupon = CouponUsedSerializer(allow_null=True)
    points_payment = PointsPaymentOutputSerializer(allow_null=True)
    redemptions = RedemptionSerializer(many=True)
    warnings = WarningSerializer(many=True)
    balance = BalanceSerializer()


def commit_key(api_key_id: int, key: str) -> str:
    """The commit's key: the request's Idempotency-Key, scoped to its API key."""
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"api-key:{api_key_id}:{key}"


def outcome_body(outcome) -> dict:
    sale = outcome.sale
    entry = sale.points.entry if sale.points else None
    return {
        "created": outcome.created,
        "order": OrderOutputSerializer(sale.order).data,
        "points": (entry.available_delta + entry.pending_delta) if entry else 0,
        "rules": rule_results(sale.rules),
        "coupon": CouponUsedSerializer(outcome.coupon).data if outcome.coupon else None,
        "points_payment": (PointsPaymentOutputSerializer(outcome.payment).data
                           if outcome.payment else None),
        "redemptions": RedemptionSerializer(outcome.redemptions, many=True).data,
        "warnings": warnings_body(sale.notices),
        "balance": BalanceSerializer(selectors.account_for(sale.order.member_id)).data,
    }


class CommitView(ApiView):
    required_scopes = ("orders:write", "points:write")
    idempotency = "required"

    @extend_schema(request=CommitInputSerializer,
                   responses={201: CommitOutcomeSerializer, 200: CommitOutcomeSerializer},
                   summary="Commit a purchase: coupon, points as cash, gifts and the sale "
                           "together, or nothing", tags=["checkout"])
    def post(self, request):
        serializer = CommitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        checkout = CheckoutInput(
            member_id=data["member"], store_code=data["store"], order_no=data["order_no"],
            ordered_at=data["ordered_at"], coupon_code=data["coupon"], points=data["points"],
            lines=tuple(CheckoutLine(sku=line["sku"], category=line["category"],
                                     quantity=line["quantity"], amount=line["amount"])
                        for line in data["lines"]),
            gifts=tuple(GiftPick(reward_id=gift["reward"], quantity=gift["quantity"])
                        for gift in data["gifts"]))
        key = commit_key(request.auth.pk, idempotency_key(request, required=True))

        def work():
            outcome = checkout_commit(checkout=checkout, key=key,
                                      owner_id=request.auth.owner_id)
            return Response(outcome_body(outcome), status=status.HTTP_201_CREATED
                            if outcome.created else status.HTTP_200_OK)

        return run_idempotent(request, work, required=True)
