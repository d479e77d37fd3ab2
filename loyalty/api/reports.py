"""Reports for finance: the points liability."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from points.liability import liability_report

from .base import ApiView


class MonthFiguresSerializer(serializers.Serializer):
    month = serializers.DateField(format="%Y-%m", help_text="Beijing month, YYYY-MM.")
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
    months = serializers.IntegerField(min_value=1, max_value=240, default=24,
                                      help_text="How many recent months to list (totals "
                                                "always cover the whole ledger).")


class LiabilityView(ApiView):
    required_scopes = ("points:admin",)

    @extend_schema(responses=LiabilitySerializer, tags=["reports"],
                   parameters=[OpenApiParameter("months", int, OpenApiParameter.QUERY,
                                                description="Recent months to list, 1–240 "
                                                            "(default 24).")],
                   summary="Points liability: outstanding, cash value, monthly flows, breakage")
    def get(self, request):
        query = LiabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = liability_report()
        report.months = report.months[-query.validated_data["months"]:]
        return Response(LiabilitySerializer(report).data)
