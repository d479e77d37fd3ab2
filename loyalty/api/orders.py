"""Sales and returns. Idempotent by store + order number, with or without a header."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode, OrderErrorCode
from members.models import Order, OrderLine
from members.services import LineInput, ReturnInput, ReturnLineInput, SaleInput
from members.services.orders import MAX_LINES
from points.errors import PointsErrorCode

from ..intake import record_return, record_sale
from .base import MAX_ID, ApiView
from .events import RuleResultSerializer, rule_results
from .fields import DateTime, Input, Integer, Money, Text
from .idempotency import run_idempotent

ZERO = Decimal("0")


class LineSerializer(Input):
    line_no = Integer(min_value=1, max_value=32767, help_text="Unique within the order.")
    sku = Text(max_length=64)
    category = Text(max_length=64, blank=True, required=False, default="")
    quantity = Integer(min_value=1, max_value=1_000_000)
    gross_amount = Money()
    coupon_discount = Money(default=ZERO)
    tier_discount = Money(default=ZERO)
    other_discount = Money(default=ZERO)
    points_cash = Money(default=ZERO, help_text="Money value of points used as cash.")
    net_amount = Money(required=False,
                       help_text="Net paid; when given it must equal gross less discounts and "
                                 "points used as cash (`amounts_do_not_add_up`), which may not "
                                 "exceed gross.")


class SaleInputSerializer(Input):
    store = Text(max_length=32, help_text="Store code.")
    order_no = Text(max_length=64, help_text="Unique per store.")
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    ordered_at = DateTime()
    lines = LineSerializer(many=True, allow_empty=False, max_length=MAX_LINES,
                           help_text="Each line number once; the order's gross total at most "
                                     "9999999999.99.")


class ReturnLineSerializer(Input):
    line_no = Integer(min_value=1, max_value=32767, help_text="The sale's line being returned.")
    quantity = Integer(min_value=1, max_value=1_000_000)


class ReturnInputSerializer(Input):
    store = Text(max_length=32, help_text="Store code of the return.")
    order_no = Text(max_length=64, help_text="The return's own number, unique per store.")
    sale_order_no = Text(max_length=64, help_text="The sale's order number.")
    sale_store = Text(max_length=32, required=False,
                      help_text="Store code of the sale, if not the same.")
    ordered_at = DateTime()
    lines = ReturnLineSerializer(many=True, allow_empty=False, max_length=MAX_LINES,
                                 help_text="Each sale line once.")


class OrderLineOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ("line_no", "sku", "category", "quantity", "gross_amount", "coupon_discount",
                  "tier_discount", "other_discount", "points_cash", "net_amount")


class OrderOutputSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    sale_order_no = serializers.CharField(source="original_order.order_no", default=None,
                                          read_only=True, allow_null=True,
                                          help_text="For a return: its sale's order number; "
                                                    "null for a sale.")
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
    rules = RuleResultSerializer(many=True, help_text="For a new sale: what each earning rule "
                                                      "gave and why; empty otherwise.")


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
    """Record a sale: the order is stored once per store and order number, then it earns
    points through the earning rules (pending until the return window ends), growth
    toward the next tier, and updates the member's statistics and rule tags. Sending the
    same sale again answers it (200, `created: false`) and does nothing more; another sale
    under a used number is refused. A frozen member's sale is recorded but earns nothing.
    A sale that would earn more than 100,000,000 points at once is refused
    (`amount_too_large`)."""

    required_scopes = ("orders:write",)
    idempotency = "optional"
    errors = (MemberErrorCode.MEMBER_NOT_FOUND, MemberErrorCode.MEMBER_CLOSED,
              MemberErrorCode.STORE_NOT_FOUND, OrderErrorCode.INVALID_ORDER,
              OrderErrorCode.AMOUNTS_DO_NOT_ADD_UP, OrderErrorCode.ORDER_NUMBER_CONFLICT,
              PointsErrorCode.AMOUNT_TOO_LARGE)

    @extend_schema(operation_id="saleRecord", request=SaleInputSerializer,
                   responses={201: OrderOutcomeSerializer, 200: OrderOutcomeSerializer},
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
    """Record a return against its sale, line by line (part of a line's quantity may come
    back). The points the returned lines earned are reversed in proportion — from pending
    first, then available, and any shortfall becomes debt — and growth and statistics
    follow. Idempotent by store + the return's own number, like a sale."""

    required_scopes = ("orders:write",)
    idempotency = "optional"
    errors = (MemberErrorCode.STORE_NOT_FOUND, OrderErrorCode.INVALID_ORDER,
              OrderErrorCode.SALE_NOT_FOUND, OrderErrorCode.LINE_NOT_FOUND,
              OrderErrorCode.RETURN_EXCEEDS_SALE, OrderErrorCode.ORDER_NUMBER_CONFLICT)

    @extend_schema(operation_id="returnRecord", request=ReturnInputSerializer,
                   responses={201: OrderOutcomeSerializer, 200: OrderOutcomeSerializer},
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
