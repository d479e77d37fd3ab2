"""Checkout commit: coupon, points as cash, gifts and the sale in one transaction."""

from __future__ import annotations

import hashlib

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode, OrderErrorCode
from points.errors import PaymentErrorCode, PointsErrorCode
from points.selectors import ledger as selectors
from points.services.posting import MAX_POINTS
from points.services.rewards import MAX_QUANTITY

from ..errors import ApiError, ApiErrorCode
from ..services.checkout_commit import CheckoutInput, CheckoutLine, GiftPick, checkout_commit
from .base import MAX_ID, ApiView
from .checkout import BASKET_ERRORS, BasketLineSerializer, BasketSerializer
from .events import RuleResultSerializer, rule_results
from .fields import DateTime, Input, Integer, Text
from .idempotency import idempotency_key, run_idempotent
from .orders import (
    TENDER_ERRORS,
    OrderOutputSerializer,
    PointsPaymentOutputSerializer,
    WarningSerializer,
    warnings_body,
)
from .points import BalanceSerializer
from .rewards import RedemptionSerializer
from .tenders import TenderOutputSerializer, tender_inputs, tenders_body, tenders_field


class CommitGiftSerializer(Input):
    reward = Integer(min_value=1, max_value=MAX_ID, help_text="Reward id.")
    quantity = Integer(min_value=1, max_value=MAX_QUANTITY, default=1)


class CommitInputSerializer(Input):
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    store = Text(max_length=32, help_text="Store code.")
    order_no = Text(max_length=64, help_text="The sale's number, unique per store.")
    ordered_at = DateTime()
    lines = BasketLineSerializer(many=True, allow_empty=False, max_length=500,
                                 help_text="What each line costs before the member's "
                                           "discount; each SKU once (`basket_sku_repeated`), "
                                           "at most 9999999999.99 in all "
                                           "(`basket_too_large`).")
    coupon = Text(max_length=32, blank=True, required=False, default="",
                  help_text="A coupon code to redeem on the order (optional).")
    points = Integer(min_value=0, max_value=MAX_POINTS, default=0,
                     help_text="Points to pay with, as cash (0: none).")
    gifts = CommitGiftSerializer(many=True, required=False, default=list, allow_empty=False,
                           max_length=20,
                           help_text="Rewards the member takes at the till, for points; each "
                                     "reward once (`gift_repeated`).")

    tenders = tenders_field(help_text=(
        "How what is left after the discount, the coupon and the points is paid: cash, "
        "stored_value, gift_card (with code and PIN), adding up to it exactly "
        "(`tenders_do_not_add_up`); points pay through `points`, not here. Stored value and "
        "gift cards need the scopes stored_value:write / gift_cards:write and earn like cash."))

    def validate_lines(self, lines):
        return BasketSerializer.validate_lines(self, lines)  # each SKU once, a sane total

    def validate_gifts(self, gifts):
        rewards = [gift["reward"] for gift in gifts]
        if len(set(rewards)) != len(rewards):
            raise ApiError(ApiErrorCode.GIFT_REPEATED)
        return gifts


class CouponUsedSerializer(serializers.Serializer):
    code = serializers.CharField()
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)


class CommitOutcomeSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when this key was already committed.")
    order = OrderOutputSerializer()
    points = serializers.IntegerField(help_text="Points the sale earned.")
    rules = RuleResultSerializer(many=True, help_text="What each earning rule gave and why; "
                                                      "empty for a replay.")
    coupon = CouponUsedSerializer(allow_null=True, help_text="The coupon redeemed; null when "
                                                             "none.")
    points_payment = PointsPaymentOutputSerializer(
        allow_null=True, help_text="The points paid as cash; null when none.")
    redemptions = RedemptionSerializer(many=True)
    warnings = WarningSerializer(many=True)
    balance = BalanceSerializer()
    tenders = TenderOutputSerializer(many=True, help_text="What each tender paid (the points "
                                                          "tender is the points payment); "
                                                          "empty when sent without tenders.")


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
        "tenders": tenders_body(sale.tenders),
    }


class CommitView(ApiView):
    """Commit a purchase at the till, as the counter page does: the member's discount, the
    chosen coupon and the points as cash are applied in the checkout preview's order, then
    the coupon is redeemed on the order, the points are taken as its payment (given back
    if it is returned), the gifts come out of stock and the sale is recorded and earns —
    all in one transaction. A coupon that cannot be used, points the member lacks, more
    points than the order's share, a gift out of stock: nothing is written. Points may pay
    at most the programme's share of what is left after the coupon."""

    required_scopes = ("orders:write", "points:write")
    idempotency = "required"
    errors = (MemberErrorCode.MEMBER_NOT_FOUND, MemberErrorCode.MEMBER_CLOSED,
              MemberErrorCode.STORE_NOT_FOUND, OrderErrorCode.INVALID_ORDER,
              OrderErrorCode.ORDER_NUMBER_CONFLICT, *BASKET_ERRORS, ApiErrorCode.GIFT_REPEATED,
              PointsErrorCode.COUPON_NOT_FOUND, PointsErrorCode.COUPON_NOT_OWNED,
              PointsErrorCode.COUPON_NOT_USABLE, PointsErrorCode.COUPON_EXPIRED,
              PointsErrorCode.COUPON_NOT_YET_VALID, PointsErrorCode.COUPON_NOT_APPLICABLE,
              PointsErrorCode.MEMBER_FROZEN, PointsErrorCode.INSUFFICIENT_POINTS,
              PaymentErrorCode.POINTS_OVER_ORDER_SHARE, PaymentErrorCode.POINTS_WORTH_NOTHING,
              PointsErrorCode.REWARD_NOT_FOUND, PointsErrorCode.REWARD_NOT_AVAILABLE,
              PointsErrorCode.REWARD_NOT_ELIGIBLE, PointsErrorCode.REWARD_LIMIT_REACHED,
              PointsErrorCode.PICKUP_STORE_REQUIRED,
              PointsErrorCode.OUT_OF_STOCK, PointsErrorCode.AMOUNT_TOO_LARGE,
              PointsErrorCode.COUPON_TEMPLATE_INACTIVE, PointsErrorCode.COUPON_CODES_EXHAUSTED,
              PointsErrorCode.SOURCE_KEY_CONFLICT, *TENDER_ERRORS)

    @extend_schema(operation_id="checkoutCommit", request=CommitInputSerializer,
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
                        for gift in data["gifts"]),
            tenders=tender_inputs(request, data.get("tenders", [])))
        key = commit_key(request.auth.pk, idempotency_key(request, required=True))

        def work():
            outcome = checkout_commit(checkout=checkout, key=key,
                                      owner_id=request.auth.owner_id)
            return Response(outcome_body(outcome), status=status.HTTP_201_CREATED
                            if outcome.created else status.HTTP_200_OK)

        return run_idempotent(request, work, required=True)
