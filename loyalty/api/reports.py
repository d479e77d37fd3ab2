"""Reports for finance: the points liability and the prepaid liability (stored value and gift
cards)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from points.selectors.liability import liability_report
from points.selectors.prepaid import MONTH_FIGURES, prepaid_report

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


def _money(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True,
                                    help_text=help_text)


class PrepaidMonthSerializer(serializers.Serializer):
    month = MonthField(help_text="Beijing month, YYYY-MM.")
    locals().update({name: _money(name.replace("_", " ")) for name in MONTH_FIGURES})


class PrepaidSerializer(serializers.Serializer):
    principal = _money("Stored value owed: members' money (refundable).")
    bonus = _money("Stored value owed: bonus still spendable (never refunded).")
    gift_cards = _money("Balances of active gift cards.")
    total = _money("principal + bonus + gift_cards.")
    months = PrepaidMonthSerializer(many=True)


class PrepaidLiabilityView(ApiView):
    """For finance: what the programme owes in stored value — principal and bonus apart —
    and on active gift cards, and month by month (Beijing months) the top-ups and the bonus
    they gave, spend (principal and bonus), refunds (and the bonus they forfeited), money
    given back on returns, bonus expired, and gift cards activated, spent, given back and
    expired. Flows are positive amounts."""

    required_scopes = ("stored_value:admin",)

    @extend_schema(operation_id="prepaidLiability", responses=PrepaidSerializer,
                   tags=["reports"], parameters=[LiabilityQuerySerializer],
                   summary="Prepaid liability: stored value and gift cards, monthly flows")
    def get(self, request):
        query = LiabilityQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        report = prepaid_report()
        report.months = report.months[-query.validated_data["months"]:]
        return Response(PrepaidSerializer(report).data)
