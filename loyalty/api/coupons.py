"""Coupons: a member's coupons, issue one, redeem at checkout, void."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode
from points.errors import PointsErrorCode
from points.models import Coupon, CouponEvent
from points.selectors.coupons import coupon_events_for, coupons_for
from points.services.coupons import coupon_issue, coupon_redeem, coupon_void

from .base import MAX_ID, ApiView, body_member, member_or_404
from .checkout import BASKET_ERRORS, BasketSerializer
from .fields import Input, Integer, NoteField, Text
from .idempotency import run_idempotent
from .pagination import Page

COUPON_USE_ERRORS = (PointsErrorCode.COUPON_NOT_FOUND, PointsErrorCode.COUPON_NOT_OWNED,
                     PointsErrorCode.COUPON_NOT_USABLE, PointsErrorCode.COUPON_EXPIRED,
                     PointsErrorCode.COUPON_NOT_YET_VALID, PointsErrorCode.COUPON_NOT_APPLICABLE,
                     PointsErrorCode.MEMBER_FROZEN)


class CouponSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="template.name")
    kind = serializers.CharField(source="template.kind")
    threshold = serializers.DecimalField(source="template.threshold", max_digits=12,
                                         decimal_places=2)
    amount = serializers.DecimalField(source="template.amount", max_digits=12, decimal_places=2,
                                      allow_null=True)
    percent_off = serializers.IntegerField(source="template.percent_off", allow_null=True)
    sku = serializers.CharField(source="template.sku")

    class Meta:
        model = Coupon
        fields = ("code", "name", "kind", "threshold", "amount", "percent_off", "sku", "member",
                  "state", "issued_at", "valid_from", "valid_until", "redeemed_at", "order_no",
                  "discount")


class MemberCouponsView(ApiView, generics.ListAPIView):
    """A member's coupons in every state (issued, redeemed, voided, expired), newest first,
    one page at a time."""

    required_scopes = ("members:read",)
    serializer_class = CouponSerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Coupon.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return coupons_for(member.pk).order_by("-id")

    @extend_schema(operation_id="couponsList", summary="A member's coupons (newest first)",
                   tags=["coupons"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CouponEventSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="coupon.code")
    reason = serializers.CharField(help_text=(
        "The system's label (a restored coupon names the returned order); a void's typed "
        "reason is in `note`."))
    note = NoteField(help_text="Why the coupon was voided, as typed; empty when erased.")

    class Meta:
        model = CouponEvent
        fields = ("id", "code", "kind", "order_no", "discount", "reason", "note", "created_at")


class CouponHistoryView(ApiView, generics.ListAPIView):
    """What happened to a member's coupons, newest first, one page at a time: issued,
    redeemed (with the order and the discount), voided (with the reason, in `note`), expired."""

    required_scopes = ("members:read",)
    serializer_class = CouponEventSerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return CouponEvent.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return coupon_events_for(member.pk)

    @extend_schema(operation_id="couponHistory",
                   summary="A member's coupon history: issued, redeemed, voided, expired "
                           "(newest first)", tags=["coupons"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IssueInputSerializer(Input):
    template = Integer(min_value=1, max_value=MAX_ID, help_text="Coupon template id.")


class IssueView(ApiView):
    """Issue one coupon of a template to the member: a generated code, or the next uploaded
    code for templates with uploaded codes. Its validity follows the template (fixed dates,
    or a number of days from now)."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (PointsErrorCode.COUPON_TEMPLATE_NOT_FOUND, PointsErrorCode.COUPON_TEMPLATE_INACTIVE,
              PointsErrorCode.COUPON_CODES_EXHAUSTED, PointsErrorCode.MEMBER_FROZEN)

    @extend_schema(operation_id="couponIssue", request=IssueInputSerializer,
                   responses={201: CouponSerializer},
                   summary="Issue a coupon of a template to the member", tags=["coupons"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = IssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = serializer.validated_data["template"]

        def work():
            coupon = coupon_issue(template_id=template, member_id=member.pk)
            return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class CouponRedeemInputSerializer(BasketSerializer):
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    code = Text(max_length=32)
    order_no = Text(max_length=64, help_text="The order the coupon pays for; sending the same "
                                             "order again answers the first redemption.")


class CouponRedeemView(ApiView):
    """Use a member's coupon on an order, once: the coupon is valued against the basket
    (threshold, product, category) and marked redeemed with the order number and the
    discount. Of two checkouts at the same moment one redeems and the other is told the
    coupon is used; the same order sent again answers the first redemption."""

    required_scopes = ("points:write",)
    idempotency = "optional"
    errors = (*BASKET_ERRORS, *COUPON_USE_ERRORS, MemberErrorCode.MEMBER_NOT_FOUND)

    @extend_schema(operation_id="couponRedeem", request=CouponRedeemInputSerializer,
                   responses={200: CouponSerializer},
                   summary="Redeem a member's coupon against a basket (once)", tags=["coupons"])
    def post(self, request):
        serializer = CouponRedeemInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = body_member(data["member"])
        basket = serializer.basket()

        def work():
            coupon = coupon_redeem(code=data["code"], member_id=member.pk, basket=basket,
                                   order_no=data["order_no"])
            return Response(CouponSerializer(coupon).data)

        return run_idempotent(request, work, required=False)


class VoidInputSerializer(Input):
    code = Text(max_length=32)
    reason = Text(max_length=200, help_text=(
        "Why, in the caller's words; kept as a note beside the `voided` event (its `note`)."))


class VoidView(ApiView):
    """Withdraw a coupon that is issued or still unissued, with a reason; a redeemed,
    voided or expired coupon cannot be voided."""

    required_scopes = ("points:admin",)
    idempotency = "optional"
    errors = (PointsErrorCode.COUPON_NOT_FOUND, PointsErrorCode.COUPON_NOT_USABLE)

    @extend_schema(operation_id="couponVoid", request=VoidInputSerializer,
                   responses={200: CouponSerializer},
                   summary="Void a coupon that is not used yet", tags=["coupons"])
    def post(self, request):
        serializer = VoidInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def work():
            coupon = coupon_void(code=data["code"], reason=data["reason"])
            return Response(CouponSerializer(coupon).data)

        return run_idempotent(request, work, required=False)
