"""Sales and returns. Idempotent by store + order number, with or without a header."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.money import MAX_AMOUNT
from members.models import Order, OrderLine
from members.services import LineInput, ReturnInput, ReturnLineInput, SaleInput

from ..intake import record_return, record_sale
from .base import MAX_ID, ApiView
from .events import rule_results
from .idempotency import run_idempotent

AMOUNT = {"max_digits": 12, "decimal_places": 2, "min_value": 0, "max_value": MAX_AMOUNT}


class LineSerializer(serializers.Serializer):
    line_no = serializers.IntegerField(min_value=1, max_value=32767)
    sku = serializers.CharField(max_length=64)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    gross_amount = serializers.DecimalField(**AMOUNT)
    coupon_discount = serializers.DecimalField(**AMOUNT, default=0)
    tier_discount = serializers.DecimalField(**AMOUNT, default=0)
    other_discount = serializers.DecimalField(**AMOUNT, default=0)
    points_cash = serializers.DecimalField(**AMOUNT, default=0,
                                           help_text="Money value of points used as cash.")
    net_amount = serializers.DecimalField(**AMOUNT, required=False,
                                          help_text="Net paid; when given it must equal gross "
                                                    "less discounts and points used as cash.")


class SaleInputSerializer(serializers.Serializer):
    store = serializers.CharField(max_length=32, help_text="Store code.")
    order_no = serializers.CharField(max_length=64)
    member = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Member id.")
    ordered_at = serializers.DateTimeField()
    lines = LineSerializer(many=True, allow_empty=False, max_length=500)


class ReturnLineSerializer(serializers.Serializer):
    line_no = serializers.IntegerField(min_value=1, max_value=32767,
                                       help_text="The sale's line being returned.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class ReturnInputSerializer(serializers.Serializer):
    store = serializers.CharField(max_length=32, help_text="Store code of the return.")
    order_no = serializers.CharField(max_length=64, help_text="The return's own number.")
    sale_order_no = serializers.CharField(max_length=64)
    sale_store = serializers.CharField(max_length=32, required=False,
                                       help_text="Store code of the sale, if not the same.")
    ordered_at = serializers.DateTimeField()
    lines = ReturnLineSerializer(many=True, allow_empty=False, max_length=500)


class OrderLineOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ("line_no", "sku", "category", "quantity", "gross_amount", "coupon_discount",
                  "tier_discount", "other_discount", "points_cash", "net_amount")


class OrderOutputSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    sale_order_no = serializers.CharField(source="original_order.order_no", default=None,
                                          read_only=True)
    lines = OrderLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ("id", "store", "order_no", "kind", "member", "sale_order_no", "ordered_at",
                  "gross_amount", "coupon_discount", "tier_discount", "other_discount",
                  "points_cash", "net_amount", "lines")


class OrderOutcomeSerializer(serializers.Serializer):
    order = OrderOutputSerializer()
    created = serializers.BooleanField(help_text="False when this order was already recorded.")
    points = serializers.IntegerField(help_text="Points this order earned (negative: reversed).")
    points_pending = serializers.IntegerField(help_text="Of which pending the return window.")
    debt = serializers.IntegerField(help_text="Points reversed beyond the balance, owed.")
    rules = serializers.ListField(child=serializers.DictField(), required=False,
                                  help_text="For a new sale: what each earning rule gave and why.")


def outcome_body(outcome) -> dict:
    entry = outcome.points.entry if outcome.points else None
    return {
        "order": OrderOutputSerializer(outcome.order).data,
        "created": outcome.created,
        "points": (entry.available_delta + entry.pending_delta) if entry else 0,
        "points_pending": entry.pending_delta if entry else 0,
        "debt": entry.debt_delta if entry else 0,
        "rules": rule_results(getattr(outcome, "rules", [])),
    }


class SaleView(ApiView):
    required_scopes = ("orders:write",)
    idempotency = "optional"

    @extend_schema(request=SaleInputSerializer, responses={201: OrderOutcomeSerializer,
                                                           200: OrderOutcomeSerializer},
                   summary="Record a sale (idempotent by store + order number)", tags=["orders"])
    def post(self, request):
        serializer = SaleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sale = SaleInput(store_code=data["store"], order_no=data["order_no"],
                         member_id=data["member"], ordered_at=data["ordered_at"],
                         lines=tuple(LineInput(**line) for line in data["lines"]))

        def work():
            outcome = record_sale(sale=sale)
            return Response(outcome_body(outcome),
                            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)

        return run_idempotent(request, work, required=False)


class ReturnView(ApiView):
    required_scopes = ("orders:write",)
    idempotency = "optional"

    @extend_schema(request=ReturnInputSerializer, responses={201: OrderOutcomeSerializer,
                                                             200: OrderOutcomeSerializer},
                   summary="Record a return against its sale", tags=["orders"])
    def post(self, request):
        serializer = ReturnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ret = ReturnInput(store_code=data["store"], order_no=data["order_no"],
                          sale_order_no=data["sale_order_no"], ordered_at=data["ordered_at"],
                          sale_store_code=data.get("sale_store"),
                          lines=tuple(ReturnLineInput(**line) for line in data["lines"]))

        def work():
            outcome = record_return(ret=ret)
            return Response(outcome_body(outcome),
                            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)

        return run_idempotent(request, work, required=False)
