"""Sales and returns. Idempotent by store + order number, with or without a header."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode, OrderErrorCode
from members.models import Order, OrderLine
from members.services.orders import MAX_LINES, LineInput, ReturnInput, ReturnLineInput, SaleInput
from points.errors import (
    GiftCardErrorCode,
    PaymentErrorCode,
    PointsErrorCode,
    StoredValueErrorCode,
    TenderErrorCode,
)
from points.services.payments import PaymentRef

from ..errors import ApiError, ApiErrorCode
from ..services.intake import Notice, record_return, record_sale
from .base import MAX_ID, ApiView
from .events import RuleResultSerializer, rule_results
from .fields import DateTime, Input, Integer, Money, Text
from .idempotency import run_idempotent
from .points import spend_reference
from .tenders import TenderOutputSerializer, tender_inputs, tenders_body, tenders_field

ZERO = Decimal("0")
TENDER_ERRORS = (TenderErrorCode.TENDERS_DO_NOT_ADD_UP, TenderErrorCode.POINTS_TENDER_MISMATCH,
                 TenderErrorCode.TENDER_INVALID, StoredValueErrorCode.INSUFFICIENT,
                 GiftCardErrorCode.CARD_NOT_FOUND, GiftCardErrorCode.CARD_NOT_ACTIVE,
                 GiftCardErrorCode.CARD_EXPIRED, GiftCardErrorCode.INSUFFICIENT,
                 GiftCardErrorCode.TOO_MANY_ENQUIRIES)


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


class PointsPaymentSerializer(Input):
    """The payment that took the points used as cash: a captured hold or a spend, one of
    the two (`points_payment_one_of`)."""

    hold = Integer(min_value=1, max_value=MAX_ID, required=False,
                   help_text="A checkout hold this integrator captured.")
    spend = Text(max_length=255, required=False,
                 help_text="The Idempotency-Key of a spend sent with this API key.")

    def validate(self, attrs):
        if len(attrs) != 1:
            raise ApiError(ApiErrorCode.POINTS_PAYMENT_ONE_OF)
        return attrs


class SaleInputSerializer(Input):
    store = Text(max_length=32, help_text="Store code.")
    order_no = Text(max_length=64, help_text="Unique per store.")
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    ordered_at = DateTime()
    lines = LineSerializer(many=True, allow_empty=False, max_length=MAX_LINES,
                           help_text="Each line number once; the order's gross total at most "
                                     "9999999999.99.")
    points_payment = PointsPaymentSerializer(
        required=False, help_text="When the sale used points as cash: the payment that took "
                                  "them. Its points at their point value must equal the "
                                  "sale's points_cash (`points_payment_mismatch`). Without "
                                  "one, a return gives no points back. Alone, it is the "
                                  "one-tender shorthand for a points tender; with `tenders`, "
                                  "it is the payment their points tender names.")
    tenders = tenders_field(help_text=(
        "How the sale was paid: cash, stored_value, gift_card (with code and PIN) adding up "
        "to the net amount (`tenders_do_not_add_up`), and points — the points as cash, "
        "exactly, whose payment is `points_payment` (`points_tender_mismatch`). Stored value "
        "and gift cards are taken with the sale (they need the scopes stored_value:write / "
        "gift_cards:write) and earn like cash; a return gives back to each tender in "
        "proportion. Without tenders nothing is taken and a return gives back only points."))


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


class PointsPaymentOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text='"spend" or "hold".')
    hold = serializers.IntegerField(source="hold_id", allow_null=True,
                                    help_text="The captured hold; null for a spend.")
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
    rules = RuleResultSerializer(many=True, help_text="For a new sale: what each earning rule "
                                                      "gave and why; empty otherwise.")
    points_payment = PointsPaymentOutputSerializer(
        allow_null=True, required=False,
        help_text="A sale: the points payment linked to it (null when none); absent for a "
                  "return.")
    points_cash_returned = serializers.IntegerField(
        required=False, help_text="A return: points used as cash given back to their lots.")
    coupons_restored = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="A return completing the sale: its coupons, issued again.")
    coupons_not_restored = CouponNotRestoredSerializer(
        many=True, required=False, help_text="A return completing the sale: coupons that "
                                             "stay redeemed, and why.")
    tenders = TenderOutputSerializer(
        many=True, help_text="A sale: what each tender paid; a return: what each tender of "
                             "the sale got back. Empty for a sale sent without tenders.")
    warnings = WarningSerializer(many=True, help_text='e.g. "points_cash_not_linked": the '
                                                      "sale used points as cash without "
                                                      "naming a payment.")


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
        "tenders": tenders_body(outcome.tenders),
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
    """Record a sale: the order is stored once per store and order number, then it earns
    points through the earning rules (pending until the return window ends), growth
    toward the next tier, and updates the member's statistics and rule tags. Sending the
    same sale again answers it (200, `created: false`) and does nothing more; another sale
    under a used number is refused. A frozen member's sale is recorded but earns nothing.
    A sale that would earn more than 100,000,000 points at once is refused
    (`amount_too_large`). A sale that used points as cash names the payment that took them
    (`points_payment`); it is linked to the sale once, so the sale's return gives the points
    back. Without one the sale is recorded with the warning `points_cash_not_linked`, and its
    return gives no points back."""

    required_scopes = ("orders:write",)
    idempotency = "optional"
    errors = (MemberErrorCode.MEMBER_NOT_FOUND, MemberErrorCode.MEMBER_CLOSED,
              MemberErrorCode.STORE_NOT_FOUND, OrderErrorCode.INVALID_ORDER,
              OrderErrorCode.AMOUNTS_DO_NOT_ADD_UP, OrderErrorCode.ORDER_NUMBER_CONFLICT,
              PointsErrorCode.AMOUNT_TOO_LARGE, ApiErrorCode.POINTS_PAYMENT_ONE_OF,
              PaymentErrorCode.POINTS_PAYMENT_NOT_FOUND,
              PaymentErrorCode.POINTS_PAYMENT_MISMATCH, PaymentErrorCode.POINTS_PAYMENT_TAKEN,
              *TENDER_ERRORS)

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
        tenders = tender_inputs(request, data.get("tenders", []))
        named = data.get("points_payment")
        payment = None
        if named:
            spend = named.get("spend")
            payment = PaymentRef(hold_id=named.get("hold"), spend_key=spend_reference(
                request.auth.pk, spend) if spend is not None else None)

        def work():
            outcome = record_sale(sale=sale, payment=payment, tenders=tenders,
                                  owner_id=request.auth.owner_id)
            return Response(outcome_body(outcome),
                            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)

        return run_idempotent(request, work, required=False)


class ReturnView(ApiView):
    """Record a return against its sale, line by line (part of a line's quantity may come
    back). The points the sale paid as cash (through a linked payment) come back first, in
    proportion to the points cash returned, into the lots they came from. Then the points
    the returned lines earned are reversed in proportion — from pending first, then
    available, and any shortfall becomes debt — and growth and statistics follow. When the
    return completes the sale, the coupons redeemed on it are restored while still valid.
    Idempotent by store + the return's own number, like a sale."""

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
