"""Checkout preview: points usable as cash and the member's coupons for an open basket."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.money import MAX_AMOUNT
from members.errors import MemberErrorCode
from points.errors import PointsErrorCode
from points.services.coupons import Basket, BasketLine

from ..errors import ApiError, ApiErrorCode
from ..services.checkout import checkout_preview
from .base import MAX_ID, ApiView, body_member
from .fields import Input, Integer, Money, Text

BASKET_ERRORS = (ApiErrorCode.BASKET_SKU_REPEATED, ApiErrorCode.BASKET_TOO_LARGE)


class BasketLineSerializer(Input):
    sku = Text(max_length=64, help_text="Each SKU once in a basket (`basket_sku_repeated`).")
    category = Text(max_length=64, blank=True, required=False, default="")
    quantity = Integer(min_value=1, max_value=1_000_000)
    amount = Money(help_text="What the line costs in total.")


class BasketSerializer(Input):
    # A basket: its lines (each SKU once) and the shipping fee.

    lines = BasketLineSerializer(many=True, allow_empty=False, max_length=500,
                                 help_text="Their amounts add up to at most 9999999999.99 "
                                           "(`basket_too_large`).")
    shipping_fee = Money(default=Decimal("0"))

    def validate_lines(self, lines):
        skus = [line["sku"] for line in lines]
        if len(set(skus)) != len(skus):
            raise ApiError(ApiErrorCode.BASKET_SKU_REPEATED)
        if sum(line["amount"] for line in lines) > MAX_AMOUNT:
            raise ApiError(ApiErrorCode.BASKET_TOO_LARGE)
        return lines

    def basket(self) -> Basket:
        data = self.validated_data
        return Basket(lines=tuple(BasketLine(sku=line["sku"], category=line["category"],
                                             quantity=line["quantity"], amount=line["amount"])
                                  for line in data["lines"]),
                      shipping_fee=data["shipping_fee"])


class PreviewInputSerializer(BasketSerializer):
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    coupon = Text(max_length=32, blank=True, required=False, default="",
                  help_text="A coupon code the shopper chose (optional).")


class CouponValueSerializer(serializers.Serializer):
    code = serializers.CharField(source="coupon.code")
    name = serializers.CharField(source="coupon.template.name")
    kind = serializers.CharField(source="coupon.template.kind")
    valid_until = serializers.DateTimeField(source="coupon.valid_until", allow_null=True)
    applicable = serializers.BooleanField()
    value = serializers.DecimalField(max_digits=12, decimal_places=2,
                                     help_text="What the coupon takes off this basket.")
    why = serializers.CharField(help_text="Why it does not apply (empty when it does).")


class PointsAsCashSerializer(serializers.Serializer):
    available = serializers.IntegerField()
    usable = serializers.IntegerField(help_text="Points this order lets the member use.")
    cash_value = serializers.DecimalField(max_digits=12, decimal_places=2,
                                          help_text="What the usable points pay, in yuan.")
    max_cash = serializers.DecimalField(max_digits=12, decimal_places=2,
                                        help_text="The most points may pay on this order.")
    points_per_yuan = serializers.IntegerField()
    max_order_share = serializers.IntegerField(help_text="Percent of the order.")


class MemberDiscountSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=4, decimal_places=3,
                                    help_text="The share of the price the member pays "
                                              "(0.950 = 5% off; 1.000 = no discount).")
    source = serializers.CharField(help_text='"tier", "plan", or empty when none applies.')
    amount = serializers.DecimalField(max_digits=12, decimal_places=2,
                                      help_text="What the discount takes off the subtotal.")


class PreviewSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_fee = serializers.DecimalField(max_digits=12, decimal_places=2)
    member_discount = MemberDiscountSerializer(
        help_text="The tier's or paid plan's exclusive discount, applied first.")
    discounted_subtotal = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The subtotal at member prices; coupons "
                                                   "and points apply to it.")
    coupon = CouponValueSerializer(allow_null=True, help_text="The chosen coupon, valued.")
    payable_before_points = serializers.DecimalField(max_digits=12, decimal_places=2)
    points = PointsAsCashSerializer()
    coupons = CouponValueSerializer(many=True, help_text="The member's coupons valid now, "
                                                         "each valued on this basket (at most "
                                                         "200, soonest-ending first).")


class PreviewView(ApiView):
    """For a member and an open basket, before paying: the member's discount (tier or paid
    plan) first, then the chosen coupon on the discounted basket, then the points usable as
    cash on what is left (the programme's rate and largest share of an order), and every
    coupon of the member valued on this basket. A frozen member gets no discount, coupons
    or points. Writes nothing."""

    required_scopes = ("members:read",)
    errors = (*BASKET_ERRORS, PointsErrorCode.COUPON_NOT_FOUND, PointsErrorCode.COUPON_NOT_OWNED,
              PointsErrorCode.COUPON_NOT_USABLE, PointsErrorCode.COUPON_EXPIRED,
              PointsErrorCode.COUPON_NOT_YET_VALID, PointsErrorCode.COUPON_NOT_APPLICABLE,
              PointsErrorCode.MEMBER_FROZEN, MemberErrorCode.MEMBER_NOT_FOUND)

    @extend_schema(operation_id="checkoutPreview", request=PreviewInputSerializer,
                   responses=PreviewSerializer,
                   summary="Preview a basket: points usable as cash and applicable coupons",
                   tags=["checkout"])
    def post(self, request):
        serializer = PreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = body_member(serializer.validated_data["member"])
        preview = checkout_preview(member_id=member.pk, basket=serializer.basket(),
                                   coupon_code=serializer.validated_data["coupon"])
        return Response(PreviewSerializer(preview).data)
