"""Points: balances, history, spending and operator adjustments."""

from __future__ import annotations

import hashlib

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from points import selectors
from points.models import EntryKind, PointsEntry
from points.payments import points_pay
from points.services import MAX_POINTS, points_adjust

from .base import ApiView, member_or_404
from .idempotency import idempotency_key, run_idempotent


class BalanceSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    available = serializers.IntegerField()
    pending = serializers.IntegerField()
    held = serializers.IntegerField()
    debt = serializers.IntegerField()


class AwardSerializer(serializers.Serializer):
    rule = serializers.CharField(source="rule.rule_key")
    rule_name = serializers.CharField(source="rule.name")
    version = serializers.IntegerField(source="rule.version")
    points = serializers.IntegerField()
    detail = serializers.CharField()


class EntrySerializer(serializers.ModelSerializer):
    points = serializers.IntegerField(help_text="Change to available + pending.")
    rules = AwardSerializer(source="awards", many=True, read_only=True,
                            help_text="Why: the rule versions that paid this entry.")

    class Meta:
        model = PointsEntry
        fields = ("id", "kind", "points", "available_delta", "pending_delta", "held_delta",
                  "debt_delta", "order", "reason", "rules", "created_at")


class ExpiringSoonSerializer(serializers.Serializer):
    points = serializers.IntegerField(help_text="Available points expiring within the window.")
    date = serializers.DateField(allow_null=True,
                                 help_text="The first day (Beijing time) on which some of them "
                                           "can last be spent; null when none expire soon.")
    within_days = serializers.IntegerField()


class MemberBalanceSerializer(BalanceSerializer):
    expiring_soon = ExpiringSoonSerializer()


class BalanceView(ApiView):
    required_scopes = ("members:read",)

    @extend_schema(responses=MemberBalanceSerializer, summary="A member's points balances",
                   tags=["points"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        body = BalanceSerializer(selectors.account_for(member.pk)).data
        body["expiring_soon"] = ExpiringSoonSerializer(
            selectors.points_expiring_soon(member_id=member.pk)).data
        return Response(body)


class EntryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=EntryKind.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = PointsEntry
        fields = ("kind",)


class EntryCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class EntryListView(ApiView, generics.ListAPIView):
    required_scopes = ("members:read",)
    serializer_class = EntrySerializer
    pagination_class = EntryCursor
    filterset_class = EntryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return PointsEntry.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return selectors.entries_for(member.pk)

    @extend_schema(summary="A member's points history (newest first)", tags=["points"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SpendInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AdjustInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=-MAX_POINTS, max_value=MAX_POINTS,
                                      help_text="Positive adds, negative removes.")
    reason = serializers.CharField(max_length=200)

    def validate_points(self, value):
        if value == 0:
            raise serializers.ValidationError("must not be 0")
        return value


class MovementSerializer(serializers.Serializer):
    entry = EntrySerializer()
    balance = BalanceSerializer()


def spend_reference(api_key_id: int, key: str) -> str:
    """A spend's payment reference: its Idempotency-Key, scoped (like every key) to the API
    key that sent it, so a sale sent with the same API key names it by that key alone."""
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"api-key:{api_key_id}:{key}"


def movement_body(movement) -> dict:
    return {"entry": EntrySerializer(movement.entry).data,
            "balance": BalanceSerializer(selectors.account_for(movement.entry.member_id)).data}


class SpendView(ApiView):
    required_scopes = ("points:write",)
    idempotency = "required"

    @extend_schema(request=SpendInputSerializer, responses={201: MovementSerializer},
                   summary="Spend points (soonest-expiring first)", tags=["points"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = SpendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def work():
            # a points payment under the request's key: a sale names it {"spend": key}
            key = idempotency_key(request, required=True)
            paid = points_pay(member_id=member.pk, points=data["points"], reason=data["reason"],
                              reference=spend_reference(request.auth.pk, key),
                              owner_id=request.auth.owner_id)
            return Response(movement_body(paid.movement), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class AdjustView(ApiView):
    required_scopes = ("points:admin",)
    idempotency = "required"

    @extend_schema(request=AdjustInputSerializer, responses={201: MovementSerializer},
                   summary="Adjust points with a reason (attributed to the key's owner)",
                   tags=["points"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = AdjustInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def work():
            movement = points_adjust(member_id=member.pk, points=data["points"],
                                     reason=data["reason"], operator_id=request.auth.owner_id)
            return Response(movement_body(movement), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)
