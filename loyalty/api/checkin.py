"""Check-in (签到): check in for today, make up a missed day, the month's calendar."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from campaigns.errors import CheckinErrorCode
from campaigns.selectors.checkin import checkin_calendar
from campaigns.services.checkin import checkin_makeup
from core.clock import local_date
from members.errors import MemberErrorCode
from points.errors import PointsErrorCode

from ..services.intake import check_in
from .base import ApiView, member_or_404
from .events import RuleResultSerializer, rule_results
from .fields import Date, Input, Text


class CheckinSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The Beijing calendar day checked in.")
    kind = serializers.CharField(help_text="daily or makeup.")
    streak = serializers.IntegerField(help_text="Consecutive days up to this one.")
    cycle_day = serializers.IntegerField(help_text="Its day in the streak cycle (rewards pay "
                                                   "on these days).")
    cost_points = serializers.IntegerField()


class CheckinOutcomeSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False: the day was already checked in.")
    checkin = CheckinSerializer()
    points = serializers.IntegerField(help_text="Points this check-in gave the member (the "
                                                "daily rule and the streak rules).")
    rules = RuleResultSerializer(many=True)


def checkin_body(row, created: bool, earned_parts) -> dict:
    results = [r for earned in earned_parts if earned for r in earned.results]
    points = sum(earned.points_for(row.member_id) for earned in earned_parts if earned)
    return {"created": created, "points": points, "rules": rule_results(results),
            "checkin": {"day": row.day, "kind": row.kind, "streak": row.streak,
                        "cycle_day": row.cycle_day, "cost_points": row.cost_points}}


class CheckinView(ApiView):
    """Check the member in for today (the Beijing calendar). The day counts once whichever
    way it arrives — this endpoint or a `checkin` event — so calling again the same day
    answers the day's check-in (200, `created: false`) and pays nothing more. A new day pays
    the daily rule and, on a streak day, the streak rules."""

    required_scopes = ("events:write",)
    errors = (MemberErrorCode.MEMBER_NOT_FOUND,)

    @extend_schema(operation_id="checkinRecord", request=None,
                   responses={201: CheckinOutcomeSerializer, 200: CheckinOutcomeSerializer},
                   summary="Check in for today (once a Beijing day)", tags=["engagement"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        outcome = check_in(member_id=member.pk)
        day = outcome.checkin
        body = checkin_body(day.checkin, day.created,
                            [outcome.earned if day.created else None, day.earned])
        return Response(body, status=status.HTTP_201_CREATED if day.created
                        else status.HTTP_200_OK)


class MakeupInputSerializer(Input):
    day = Date(help_text="A missed day earlier in the current Beijing month.")


class MakeupView(ApiView):
    """A make-up check-in of a missed day earlier this month, for the configured
    points, at most the configured number a month. The same day again answers the first
    (200). It mends the streak but pays no streak reward."""

    required_scopes = ("points:write",)
    errors = (CheckinErrorCode.MAKEUP_NOT_ALLOWED, CheckinErrorCode.MAKEUP_LIMIT_REACHED,
              CheckinErrorCode.ALREADY_CHECKED_IN, PointsErrorCode.INSUFFICIENT_POINTS,
              PointsErrorCode.MEMBER_FROZEN, MemberErrorCode.MEMBER_NOT_FOUND)

    @extend_schema(operation_id="checkinMakeup", request=MakeupInputSerializer,
                   responses={201: CheckinOutcomeSerializer, 200: CheckinOutcomeSerializer},
                   summary="Make up a missed day this month (costs points)",
                   tags=["engagement"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = MakeupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = checkin_makeup(member_id=member.pk, day=serializer.validated_data["day"])
        return Response(checkin_body(outcome.checkin, outcome.created, []),
                        status=status.HTTP_201_CREATED if outcome.created
                        else status.HTTP_200_OK)


class CalendarQuerySerializer(Input):
    month = Text(max_length=7, pattern=r"^2[0-9]{3}-(0[1-9]|1[0-2])$", required=False,
                 help_text="YYYY-MM; the current Beijing month when absent.")


class CalendarDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    checked_in = serializers.BooleanField()
    kind = serializers.CharField(allow_null=True, help_text="daily, makeup or null.")
    streak = serializers.IntegerField(allow_null=True)
    can_make_up = serializers.BooleanField()


class CalendarSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    days = CalendarDaySerializer(many=True)
    streak = serializers.IntegerField(help_text="The current streak (0 after a missed day).")
    checked_in_today = serializers.BooleanField()
    makeups_used = serializers.IntegerField(help_text="Make-up check-ins this month.")
    makeups_left = serializers.IntegerField()
    makeup_cost_points = serializers.IntegerField()


class CalendarView(ApiView):
    """A member's check-in calendar for a month: each day checked in (daily or make-up) with
    its streak, which days may still be made up, the current streak, and the make-up
    check-ins used and left this month."""

    required_scopes = ("members:read",)

    @extend_schema(operation_id="checkinCalendar", responses={200: CalendarSerializer},
                   parameters=[CalendarQuerySerializer],
                   summary="A member's check-in calendar for a month", tags=["engagement"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        query = CalendarQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        today = local_date(timezone.now())
        month = query.validated_data.get("month")
        year, number = (int(month[:4]), int(month[5:])) if month else (today.year, today.month)
        return Response(CalendarSerializer(checkin_calendar(
            member_id=member.pk, year=year, month=number, today=today)).data)
