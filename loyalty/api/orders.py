"""Sales and returns. Idempotent by store + order number, with or without a header."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.money import MAX_AMOUNT
from members.models import Order, OrderLine
from members.services import LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.payments import PaymentRef

from ..intake import Notice, record_return, record_sale
from .base import MAX_ID, ApiView
from .events import rule_results
from .idempotency import run_idempotent
from .points import spend_reference

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


class PointsPaymentSerializer(serializers.Serializer):
    """The payment that took the points used as cash: one of the two."""

    hold = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                    help_text="A checkout hold this integrator captured.")
    spend = serializers.CharField(max_length=255, required=False,
                                  help_text="The Idempotency-Key of a spend sent with this "
                                            "API key.")

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("name either a hold or a spend")
        return attrs


class SaleInputSerializer(serializers.Serializer):
    store = serializers.CharField(max_length=32, help_text="Store code.")
    order_no = serializers.CharField(max_length=64)
    member = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Member id.")
    ordered_at = serializers.DateTimeField()
    lines = LineSerializer(many=True, allow_empty=False, max_length=500)
    points_payment = PointsPaymentSerializer(
        required=False, help_text="When the sale used points as cash: the payment that took "
                                  "them. Its points at their point value must equal the "
                                  "sale's points_cash. Without one, a return gives no points "
                                  "back.")


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


class PointsPaymentOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text='"spend" or "hold".')
    hold = serializers.IntegerField(source="hold_id", allow_null=True)
    points = serializers.IntegerField()
    points_per_yuan = serializers.IntegerField(help_text="The point value when they were taken.")
    cash_value = serializers.DecimalField(max_digits=12, decimal_places=2)


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CouponNotRestoredSerializer(serializers.Serializer):
    code = serializers.CharField()
    reason = serializers.CharField(help_text='"expired": its validity has ended.')


class OrderOutcomeSerializer(serializers.Serializer):
    order = OrderOutputSerializer()
    created = serializers.BooleanField(help_text="False when this order was already recorded.")
    points = serializers.IntegerField(help_text="Points this order earned (negative: reversed).")
    points_pending = serializers.IntegerField(help_text="Of which pending the return window.")
    debt = serializers.IntegerField(help_text="Points reversed beyond the balance, owed.")
    rules = serializers.ListField(child=serializers.DictField(), required=False,
                                  help_text="For a new sale: what each earning rule gave and why.")
    points_payment = PointsPaymentOutputSerializer(
        allow_null=True, required=False, help_text="A sale: the payment linked to it.")
    points_cash_returned = serializers.IntegerField(
        required=False, help_text="A return: points used as cash given back to their lots.")
    coupons_restored = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="A return completing the sale: its coupons, issued again.")
    coupons_not_restored = CouponNotRestoredSerializer(
        many=True, required=False, help_text="A return completing the sale: coupons that "
                                             "stay redeemed, and why.")
    warnings = WarningSerializer(many=True, help_text='e.g. "points_cash_not_linked".')


def warnings_body(notices) -> list[dict]:
    return [{"code": code, "message": str(Notice.TEXT[code])} for code in notices]


def outcome_body(outcome) -> dict:
    entry = outcome.points.entry if outcome.points else None
    body = {
        "order": OrderOutputSerializer(outcome.order).data,
        "created": outcome.created,
        "points": (entry.available_delta + entry.pending_delta) if entry else 0,
        "points_pending": entry.pending_delta if entry else 0,
        "debt": entry.debt_delta if entry else 0,
        "rules": rule_results(getattr(outcome, "rules", [])),
        "warnings": warnings_body(outcome.notices),
    }
    if outcome.order.kind == Order.Kind.SALE:
        payment = outcome.payment
        body["points_payment"] = PointsPaymentOutputSerializer(payment).data if payment else None
    else:
        refund = outcome.points_cash.entry if outcome.points_cash else None
        body["points_cash_returned"] = refund.available_delta if refund else 0
        body["coupons_restored"] = [coupon.code for coupon in outcome.coupons_restored]
        body["coupons_not_restored"] = [{"code": coupon.code, "reason": reason}
                                        for coupon, reason in outcome.coupons_not_restored]
    return body


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
        named = data.get("points_payment")
        payment = None
        if named:
            spend = named.get("spend")
            payment = PaymentRef(hold_id=named.get("hold"), spend_key=spend_reference(
                request.auth.pk, spend.strip()) if spend is not None else None)

        def work():
            outcome = record_sale(sale=sale, payment=payment, owner_id=request.auth.owner_id)
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
