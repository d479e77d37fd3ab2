"""The rewards catalog a member sees, and redeeming a reward for points."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from points.errors import PointsErrorCode
from points.models import Reward, RewardRedemption
from points.models.rewards import Fulfilment
from points.selectors import ledger as selectors
from points.selectors.rewards import redemptions_for, rewards_for_member
from points.services.rewards import MAX_QUANTITY, redemption_cancel, reward_redeem

from .base import MAX_ID, ApiView, member_or_404
from .fields import Input, Integer, Text
from .idempotency import idempotency_key, run_idempotent
from .pagination import CatalogPage, Page
from .points import BalanceSerializer


class RewardSerializer(serializers.ModelSerializer):
    coupon_name = serializers.CharField(source="coupon_template.name", default=None,
                                        read_only=True, allow_null=True,
                                        help_text="A coupon reward's coupon; null for goods.")

    class Meta:
        model = Reward
        fields = ("id", "name", "description", "kind", "points_cost", "stock",
                  "per_member_limit", "starts_at", "ends_at", "coupon_name")


class RewardListView(ApiView, generics.ListAPIView):
    """The rewards a member can redeem now: active, inside their window, and open to all or
    to a tag the member holds (a tier is the tag `tier-<code>`), in the catalog's order,
    one page at a time."""

    required_scopes = ("members:read",)
    serializer_class = RewardSerializer
    pagination_class = CatalogPage

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Reward.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return rewards_for_member(member_id=member.pk, now=timezone.now())

    @extend_schema(operation_id="rewardsList", tags=["rewards"],
                   summary="The rewards a member can redeem now (in window, eligible)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RewardRedeemInputSerializer(Input):
    reward = Integer(min_value=1, max_value=MAX_ID, help_text="Reward id.")
    quantity = Integer(min_value=1, max_value=MAX_QUANTITY, default=1)
    fulfilment = serializers.ChoiceField(
        choices=[Fulfilment.PICKUP.value, Fulfilment.SHIPPING.value], required=False,
        help_text="Goods: pickup at `store`, or shipping (the default without a store). "
                  "Coupon rewards ignore it.")
    store = Text(max_length=32, blank=True, required=False, default="",
                 help_text="Pickup store code.")


class RedemptionSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True,
                                         help_text="Pickup store code; null otherwise.")
    coupon = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True,
                                          help_text="The coupon a coupon reward issued; null "
                                                    "for goods.")

    class Meta:
        model = RewardRedemption
        fields = ("id", "reward", "member", "quantity", "points", "state", "fulfilment",
                  "store", "tracking_no", "coupon", "created_at")


class RedemptionOutcomeSerializer(serializers.Serializer):
    redemption = RedemptionSerializer()
    balance = BalanceSerializer()


class RewardRedeemView(ApiView):
    """Buy a reward with points. Stock, the per-member limit, the points and the redemption
    are written together, or nothing is. A coupon reward issues its coupon at once
    (`delivered`); goods wait for pickup at a store or for shipping (`ordered`)."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (PointsErrorCode.REWARD_NOT_FOUND, PointsErrorCode.REWARD_NOT_AVAILABLE,
              PointsErrorCode.REWARD_NOT_ELIGIBLE, PointsErrorCode.PICKUP_STORE_REQUIRED,
              PointsErrorCode.REWARD_LIMIT_REACHED, PointsErrorCode.AMOUNT_TOO_LARGE,
              PointsErrorCode.OUT_OF_STOCK, PointsErrorCode.INSUFFICIENT_POINTS,
              PointsErrorCode.MEMBER_FROZEN, PointsErrorCode.COUPON_TEMPLATE_INACTIVE,
              PointsErrorCode.COUPON_CODES_EXHAUSTED, PointsErrorCode.SOURCE_KEY_CONFLICT)

    @extend_schema(operation_id="rewardRedeem", request=RewardRedeemInputSerializer,
                   responses={201: RedemptionOutcomeSerializer},
                   summary="Redeem a reward for points", tags=["rewards"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = RewardRedeemInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = idempotency_key(request, required=True)

        def work():
            redemption = reward_redeem(
                member_id=member.pk, reward_id=data["reward"], quantity=data["quantity"],
                fulfilment=data.get("fulfilment"), store_code=data["store"] or None,
                source_key=f"api:{request.auth.pk}:{key}")
            body = {"redemption": RedemptionSerializer(redemption).data,
                    "balance": BalanceSerializer(selectors.account_for(member.pk)).data}
            return Response(body, status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class RedemptionListView(ApiView, generics.ListAPIView):
    """A member's reward redemptions, newest first, one page at a time, with their state
    (ordered, ready, shipped, delivered, cancelled)."""

    required_scopes = ("members:read",)
    serializer_class = RedemptionSerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RewardRedemption.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return redemptions_for(member.pk)

    @extend_schema(operation_id="redemptionsList",
                   summary="A member's reward redemptions (newest first)", tags=["rewards"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RedemptionCancelInputSerializer(Input):
    reason = Text(max_length=200)


class CancelView(ApiView):
    """Cancel a goods redemption not yet delivered: the points come back as a new entry (a
    fresh lot, expiring like any other) and the units go back into stock. A delivered or
    coupon redemption cannot be cancelled."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (PointsErrorCode.REDEMPTION_NOT_FOUND, PointsErrorCode.REDEMPTION_STATE)

    @extend_schema(operation_id="redemptionCancel", request=RedemptionCancelInputSerializer,
                   responses={200: RedemptionOutcomeSerializer},
                   summary="Cancel a goods redemption not yet delivered (points come back)",
                   tags=["rewards"])
    def post(self, request, member_id: int, redemption_id: int):
        member = member_or_404(member_id)
        if not (0 < redemption_id <= MAX_ID and RewardRedemption.objects.filter(
                pk=redemption_id, member_id=member.pk).exists()):
            raise Http404
        serializer = RedemptionCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data["reason"]

        def work():
            redemption = redemption_cancel(redemption_id=redemption_id, reason=reason)
            body = {"redemption": RedemptionSerializer(redemption).data,
                    "balance": BalanceSerializer(selectors.account_for(member.pk)).data}
            return Response(body)

        return run_idempotent(request, work, required=True)
