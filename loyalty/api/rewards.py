"""The rewards catalog a member sees, and redeeming a reward for points."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from points import selectors
from points.models import Reward, RewardRedemption
from points.reward_models import Fulfilment
from points.reward_selectors import redemptions_for, rewards_for_member
from points.rewards import MAX_QUANTITY, redemption_cancel, reward_redeem

from .base import MAX_ID, ApiView, member_or_404
from .idempotency import idempotency_key, run_idempotent
from .points import BalanceSerializer

CATALOG_LIMIT = 200


class RewardSerializer(serializers.ModelSerializer):
    coupon_name = serializers.CharField(source="coupon_template.name", default=None)

    class Meta:
        model = Reward
        fields = ("id", "name", "description", "kind", "points_cost", "stock",
                  "per_member_limit", "starts_at", "ends_at", "coupon_name")


class RewardListView(ApiView):
    required_scopes = ("members:read",)

    @extend_schema(responses=RewardSerializer(many=True), tags=["rewards"],
                   summary="The rewards a member can redeem now (in window, eligible)")
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        rewards = rewards_for_member(member_id=member.pk, now=timezone.now())[:CATALOG_LIMIT]
        return Response(RewardSerializer(rewards, many=True).data)


class RewardRedeemInputSerializer(serializers.Serializer):
    reward = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Reward id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)
    fulfilment = serializers.ChoiceField(
        choices=[Fulfilment.PICKUP.value, Fulfilment.SHIPPING.value], required=False,
        help_text="Goods: pickup at `store`, or shipping (the default without a store).")
    store = serializers.CharField(max_length=32, required=False, allow_blank=True, default="",
                                  help_text="Pickup store code.")


class RedemptionSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="code", read_only=True)
    coupon = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RewardRedemption
        fields = ("id", "reward", "member", "quantity", "points", "state", "fulfilment",
                  "store", "tracking_no", "coupon", "created_at")


class RedemptionOutcomeSerializer(serializers.Serializer):
    redemption = RedemptionSerializer()
    balance = BalanceSerializer()


class RedeemView(ApiView):
    required_scopes = ("points:write",)
    idempotency = "required"

    @extend_schema(request=RewardRedeemInputSerializer,
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


class RedemptionCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class RedemptionListView(ApiView, generics.ListAPIView):
    required_scopes = ("members:read",)
    serializer_class = RedemptionSerializer
    pagination_class = RedemptionCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RewardRedemption.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return redemptions_for(member.pk)

    @extend_schema(summary="A member's reward redemptions (newest first)", tags=["rewards"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class CancelView(ApiView):
    required_scopes = ("points:write",)
    idempotency = "required"

    @extend_schema(request=CancelInputSerializer, responses={200: RedemptionOutcomeSerializer},
                   summary="Cancel a goods redemption not yet delivered (points come back)",
                   tags=["rewards"])
    def post(self, request, member_id: int, redemption_id: int):
        member = member_or_404(member_id)
        if not (0 < redemption_id <= MAX_ID and RewardRedemption.objects.filter(
                pk=redemption_id, member_id=member.pk).exists()):
            raise Http404
        serializer = CancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data["reason"]

        def work():
            redemption = redemption_cancel(redemption_id=redemption_id, reason=reason)
            body = {"redemption": RedemptionSerializer(redemption).data,
                    "balance": BalanceSerializer(selectors.account_for(member.pk)).data}
            return Response(body)

        return run_idempotent(request, work, required=True)
