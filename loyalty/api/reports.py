"""Reports for finance: the points liability."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from points.selectors.liability import liability_report

from .base import ApiView
from .fields import QueryInteger

MONTH = r"^[0-9]{4}-(?:0[1-9]|1[0-2])$"


@extend_schema_field({"type": "string", "pattern": MONTH, "example": "2026-03"})
class MonthField(serializers.DateField):
    """A calendar month, YYYY-MM (not a date: the schema's `date` format would not hold)."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", **kwargs)


class MonthFiguresSerializer(serializers.Serializer):
    month = MonthField(help_text="Beijing month, YYYY-MM.")
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    expired = serializers.IntegerField()
    reversed = serializers.IntegerField()
    adjusted = serializers.IntegerField()


class LiabilitySerializer(serializers.Serializer):
    outstanding = serializers.IntegerField(help_text="Points members hold: available + pending "
                                                     "+ held.")
    cash_value = serializers.DecimalField(max_digits=20, decimal_places=2,
                                          coerce_to_string=True,
                                          help_text="Outstanding points in CNY at the "
                                                    "programme's rate.")
    points_per_yuan = serializers.IntegerField()
    debt = serializers.IntegerField(help_text="Points reversals left owing.")
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    expired = serializers.IntegerField()
    reversed = serializers.IntegerField()
    adjusted = serializers.IntegerField()
    breakage_rate = serializers.DecimalField(max_digits=24, decimal_places=4,
                                             coerce_to_string=True, allow_null=True,
                                             help_text="Expired ÷ issued, all time.")
    months = MonthFiguresSerializer(many=True)


class LiabilityQuerySerializer(serializers.Serializer):
    months = QueryInteger(min_value=1, max_value=240, default=24,
                          help_text="How many recent months to list, 1–240 (totals always "
                                    "cover the whole ledger).")


class LiabilityView(ApiView):
    """For finance: the points members hold (available, pending and held) and their value
    in yuan at the programme's rate, the debt left by reversals, what was issued, redeemed,
    expired, reversed and adjusted in all and month by month (Beijing months), and the
    breakage rate (expired ÷ issued). Figures come from hourly month totals plus the
    entries since, so they are current."""

    required_scopes = ("points:admin",)

    @extend_schema(operation_id="pointsLiability", responses=LiabilitySerializer,
                   tags=["reports"], parameters=[LiabilityQuerySerializer],
                   summary="Points liability: outstanding, cash value, monthly flows, breakage")
    def get(self, request):
        query = LiabilityQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        report = liability_report()
        report.months = report.months[-query.validated_data["months"]:]
        return Response(LiabilitySerializer(report).data)
