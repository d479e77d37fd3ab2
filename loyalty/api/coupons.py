"""Coupons: a member's coupons, issue one, redeem at checkout, void."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from points.coupons import coupon_issue, coupon_redeem, coupon_void
from points.models import Coupon, CouponEvent
from points.reward_selectors import coupon_events_for, coupons_for

from .base import MAX_ID, ApiView, member_or_404
from .checkout import BasketSerializer
from .idempotency import run_idempotent


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


class CouponCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class MemberCouponsView(ApiView, generics.ListAPIView):
    required_scopes = ("members:read",)
    serializer_class = CouponSerializer
    pagination_class = CouponCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Coupon.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return coupons_for(member.pk).order_by("-id")

    @extend_schema(summary="A member's coupons (newest first)", tags=["coupons"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CouponEventSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="coupon.code")

    class Meta:
        model = CouponEvent
        fields = ("id", "code", "kind", "order_no", "discount", "reason", "created_at")


class CouponHistoryView(ApiView, generics.ListAPIView):
    required_scopes = ("members:read",)
    serializer_class = CouponEventSerializer
    pagination_class = CouponCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return CouponEvent.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return coupon_events_for(member.pk)

    @extend_schema(summary="A member's coupon history: issued, redeemed, voided, expired "
                           "(newest first)", tags=["coupons"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IssueInputSerializer(serializers.Serializer):
    template = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                        help_text="Coupon template id.")


class IssueView(ApiView):
    required_scopes = ("points:write",)
    idempotency = "required"

    @extend_schema(request=IssueInputSerializer, responses={201: CouponSerializer},
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
    member = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Member id.")
    code = serializers.CharField(max_length=32)
    order_no = serializers.CharField(max_length=64,
                                     help_text="The order the coupon pays for; sending the "
                                               "same order again answers the first redemption.")


class RedeemView(ApiView):
    required_scopes = ("points:write",)
    idempotency = "optional"

    @extend_schema(request=CouponRedeemInputSerializer, responses={200: CouponSerializer},
                   summary="Redeem a member's coupon against a basket (once)", tags=["coupons"])
    def post(self, request):
        serializer = CouponRedeemInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = member_or_404(data["member"])
        basket = serializer.basket()

        def work():
            coupon = coupon_redeem(code=data["code"], member_id=member.pk, basket=basket,
                                   order_no=data["order_no"])
            return Response(CouponSerializer(coupon).data)

        return run_idempotent(request, work, required=False)


class VoidInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    reason = serializers.CharField(max_length=200)


class VoidView(ApiView):
    required_scopes = ("points:admin",)
    idempotency = "optional"

    @extend_schema(request=VoidInputSerializer, responses={200: CouponSerializer},
                   summary="Void a coupon that is not used yet", tags=["coupons"])
    def post(self, request):
        serializer = VoidInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def work():
            coupon = coupon_void(code=data["code"], reason=data["reason"])
            return Response(CouponSerializer(coupon).data)

        return run_idempotent(request, work, required=False)
