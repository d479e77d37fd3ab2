"""The lottery: what it offers and its published commitment, a member's draws, the recorded
draws and their verification against the seed once it is published."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from campaigns.errors import LotteryErrorCode
from campaigns.models import Lottery, LotteryDraw, LotteryPrize
from campaigns.selectors.lottery import draws_for_member, lottery_verify, seed_public
from campaigns.services.lottery import lottery_draw
from members.errors import MemberErrorCode
from points.errors import PointsErrorCode

from .base import MAX_ID, ApiView, member_or_404
from .fields import Input, Text
from .pagination import Page


def lottery_or_404(lottery_id: int) -> Lottery:
    if not 0 < lottery_id <= MAX_ID:
        raise Http404
    return get_object_or_404(Lottery, pk=lottery_id)


class PrizeSerializer(serializers.ModelSerializer):
    class Meta:
        model = LotteryPrize
        fields = ("id", "name", "kind", "weight", "stock", "points", "fallback")


class LotterySerializer(serializers.ModelSerializer):
    prizes = PrizeSerializer(many=True, read_only=True)
    seed = serializers.SerializerMethodField(
        help_text="The server seed, published once the lottery has closed; null before.")

    class Meta:
        model = Lottery
        fields = ("id", "code", "name", "status", "cost_kind", "cost_points", "daily_limit",
                  "member_limit", "starts_at", "ends_at", "commitment", "odds_version", "odds",
                  "opened_at", "closed_at", "seed", "prizes")

    def get_seed(self, obj) -> str | None:
        return seed_public(obj)


class LotteryView(ApiView):
    """A lottery as published: its prizes, weights and stock, its cost and limits, the
    commitment SHA-256(seed hex + odds table JSON) published when it opened, the frozen odds
    table, and the seed once it has closed. The method: a draw's value is
    HMAC-SHA256(seed bytes, draw id); the value as a 256-bit integer modulo the sum of the
    weights is a ticket; the prize is the first, in the odds table's order, whose running
    sum of weights exceeds it."""

    required_scopes = ("campaigns:read",)

    @extend_schema(operation_id="lotteryGet", responses={200: LotterySerializer},
                   summary="A lottery, its odds and its commitment", tags=["lottery"])
    def get(self, request, lottery_id: int):
        lottery = lottery_or_404(lottery_id)
        return Response(LotterySerializer(lottery).data)


class DrawInputSerializer(Input):
    draw_id = Text(max_length=100, pattern=r"^[!-~]+$",
                   help_text="The draw's id, chosen by the storefront: the same id returns "
                             "the same draw (printable ASCII, no spaces).")


class DrawSerializer(serializers.ModelSerializer):
    prize = PrizeSerializer(read_only=True, allow_null=True,
                            help_text="The prize given; null for nothing.")
    drawn_prize = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The prize the value picked (differs from `prize` when "
                                  "that one was out of stock).")

    class Meta:
        model = LotteryDraw
        fields = ("id", "lottery", "draw_id", "value", "odds_version", "drawn_prize", "prize",
                  "cost_points", "cost_entries", "coupon_id", "created_at")


class DrawView(ApiView):
    """Draw once for a member. The cost (points or one entry) is taken, the value computed,
    the prize's stock taken, and the prize given (points credited under `lottery:<draw id>`,
    a coupon issued), all together or nothing. A prize out of stock is never given: the draw
    falls back to the prize configured, else nothing. The same draw id answers the first
    draw (200); a new draw answers 201."""

    required_scopes = ("points:write",)
    errors = (LotteryErrorCode.LOTTERY_NOT_FOUND, LotteryErrorCode.LOTTERY_NOT_OPEN,
              LotteryErrorCode.DAILY_LIMIT_REACHED, LotteryErrorCode.MEMBER_LIMIT_REACHED,
              LotteryErrorCode.NO_ENTRIES, LotteryErrorCode.DRAW_ID_CONFLICT,
              LotteryErrorCode.INVALID_DRAW_ID, PointsErrorCode.INSUFFICIENT_POINTS,
              PointsErrorCode.MEMBER_FROZEN, MemberErrorCode.MEMBER_NOT_FOUND)

    @extend_schema(operation_id="lotteryDraw", request=DrawInputSerializer,
                   responses={201: DrawSerializer, 200: DrawSerializer},
                   summary="Draw once (idempotent by draw id)", tags=["lottery"])
    def post(self, request, member_id: int, lottery_id: int):
        member = member_or_404(member_id)
        lottery = lottery_or_404(lottery_id)
        serializer = DrawInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draw_id = serializer.validated_data["draw_id"]
        existed = LotteryDraw.objects.filter(draw_id=draw_id).exists()
        draw = lottery_draw(lottery_id=lottery.pk, member_id=member.pk, draw_id=draw_id)
        return Response(DrawSerializer(draw).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class MemberDrawsView(ApiView, generics.ListAPIView):
    """A member's draws and the prizes won, newest first, one page at a time."""

    required_scopes = ("members:read",)
    serializer_class = DrawSerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return LotteryDraw.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return draws_for_member(member_id=member.pk)

    @extend_schema(operation_id="lotteryDrawsOfMember", tags=["lottery"],
                   summary="A member's draws and prizes won (newest first)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PublicDrawSerializer(serializers.ModelSerializer):
    class Meta:
        model = LotteryDraw
        fields = ("id", "draw_id", "value", "odds_version", "drawn_prize", "prize",
                  "created_at")


class LotteryDrawsView(ApiView, generics.ListAPIView):
    """Every recorded draw of a lottery (no member named), newest first: with the published
    seed anyone recomputes each value and prize."""

    required_scopes = ("campaigns:read",)
    serializer_class = PublicDrawSerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return LotteryDraw.objects.none()
        lottery = lottery_or_404(self.kwargs["lottery_id"])
        return LotteryDraw.objects.filter(lottery=lottery)

    @extend_schema(operation_id="lotteryDrawsList", tags=["lottery"],
                   summary="A lottery's recorded draws, to verify")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VerificationSerializer(serializers.Serializer):
    commitment = serializers.CharField()
    seed = serializers.CharField(allow_null=True)
    commitment_ok = serializers.BooleanField(
        allow_null=True, help_text="SHA-256(seed + odds table) equals the commitment; null "
                                   "while the seed is not published.")
    draws = serializers.IntegerField(allow_null=True, help_text="Draws recomputed.")
    mismatched = serializers.ListField(child=serializers.CharField(), allow_null=True,
                                       help_text="Draw ids whose recorded value or prize "
                                                 "differs from the recomputation (at most "
                                                 "100).")


class VerificationView(ApiView):
    """Recompute every recorded draw of a closed lottery from its published seed and check
    the commitment. While the lottery is not closed the seed is secret and nothing is
    recomputed (nulls)."""

    required_scopes = ("campaigns:read",)

    @extend_schema(operation_id="lotteryVerify", responses={200: VerificationSerializer},
                   summary="Recompute every draw from the published seed", tags=["lottery"])
    def get(self, request, lottery_id: int):
        lottery = lottery_or_404(lottery_id)
        seed = seed_public(lottery)
        body = {"commitment": lottery.commitment, "seed": seed, "commitment_ok": None,
                "draws": None, "mismatched": None}
        if seed is not None:
            check = lottery_verify(lottery, seed=seed)
            body.update(commitment_ok=check.commitment_ok, draws=check.draws,
                        mismatched=check.mismatched[:100])
        return Response(VerificationSerializer(body).data)
