"""Tiers: where a member stands on the ladder and what the next tier takes."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from tiers.selectors import ladder as selectors

from .base import ApiView, member_or_404


class NextTierSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    min_growth = serializers.IntegerField(allow_null=True,
                                          help_text="Growth the tier's entry needs.")
    growth_needed = serializers.IntegerField(help_text="Growth still needed (never below 0).")
    needs_first_purchase = serializers.BooleanField(
        help_text="The tier needs a first purchase the member has not made yet.")
    spend_needed = serializers.DecimalField(
        max_digits=16, decimal_places=2, allow_null=True, coerce_to_string=True,
        help_text="Yuan of spend that earns the growth still needed at the programme's rate, "
                  "rounded up; null when purchases earn no growth.")


class TierProgressSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    tier = serializers.CharField(source="tier_code", allow_null=True,
                                 help_text="The current tier's code; null before any tier.")
    tier_name = serializers.CharField(allow_null=True)
    tier_since = serializers.DateTimeField(allow_null=True)
    tier_valid_until = serializers.DateTimeField(
        allow_null=True, help_text="When the tier is re-evaluated (renewed or downgraded); "
                                   "null when it is permanent.")
    growth = serializers.IntegerField()
    period_growth = serializers.IntegerField(help_text="Growth earned in the current period.")
    keep_growth_needed = serializers.IntegerField(
        allow_null=True, help_text="Period growth still needed to keep the current tier; "
                                   "null unless its policy keeps it on a threshold.")
    next_tier = NextTierSerializer(allow_null=True,
                                   help_text="The next tier by rank; null at the top.")


class TierProgressView(ApiView):
    """Where a member stands on the ladder: the tier and until when it holds, the growth
    earned in all and in the current period, what keeping the tier takes, and what the next
    tier takes (growth, a first purchase, and the spend that would earn it)."""

    required_scopes = ("members:read",)

    @extend_schema(operation_id="tierProgress", responses=TierProgressSerializer,
                   summary="A member's tier, growth and the way to the next tier",
                   tags=["tiers"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        progress = selectors.tier_progress(member.pk, timezone.now())
        return Response(TierProgressSerializer(progress).data)
