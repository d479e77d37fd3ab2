"""Behaviour events: recorded once by event id, paid through the earning rules."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import ActivityErrorCode, MemberErrorCode
from members.models import ActivityKind
from members.services.activity import ActivityInput

from ..errors import ApiError, ApiErrorCode
from ..services.intake import event_time, record_activity
from .base import MAX_ID, ApiView
from .fields import DateTime, Input, Integer, Text
from .idempotency import run_idempotent


class EventInputSerializer(Input):
    event_id = Text(max_length=128, help_text="Your unique id for the event; the same id sent "
                                              "again pays nothing more.")
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    type = serializers.ChoiceField(ActivityKind.choices)
    name = Text(max_length=64, blank=True, required=False, default="",
                help_text="The event's name; required for `custom` events "
                          "(`event_name_required`).")
    occurred_at = DateTime(required=False, help_text="When it happened; now when absent.")
    referrer = Integer(min_value=1, max_value=MAX_ID, required=False,
                       help_text="For referral_converted: the referring member, never the "
                                 "member themselves (`self_referral`).")
    store = Text(max_length=32, required=False, help_text="Store code, for rules scoped to "
                                                          "stores.")
    payload = serializers.DictField(required=False, default=dict,
                                    help_text="Anything the rules may read: plain JSON, at most "
                                              "16 KB, without NUL characters "
                                              "(`invalid_activity`).")

    def validate(self, data):
        if data["type"] == ActivityKind.CUSTOM and not data["name"]:
            raise ApiError(ApiErrorCode.EVENT_NAME_REQUIRED)
        return data


class RuleResultSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="Rule code.")
    rule_name = serializers.CharField()
    version = serializers.IntegerField()
    member = serializers.IntegerField(allow_null=True, help_text="Who the rule rewards.")
    points = serializers.IntegerField()
    reason = serializers.CharField(help_text="awarded, capped, cap_reached, budget_spent, "
                                   "out_of_scope, member_frozen, duplicate, …")
    reason_text = serializers.CharField()


class EventOutcomeSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    created = serializers.BooleanField(help_text="False when this event id was already recorded.")
    points = serializers.IntegerField(help_text="Points the event gave the member.")
    rules = RuleResultSerializer(many=True)


def rule_results(results) -> list[dict]:
    return [{"rule": r.rule.rule_key, "rule_name": r.rule.name, "version": r.rule.version,
             "member": r.beneficiary_id, "points": r.points, "reason": r.reason,
             "reason_text": r.reason_text} for r in results]


class EventView(ApiView):
    """Record a behaviour event (sign-in, share, review, referral, a custom event…) once by
    its `event_id`, and pay it through the earning rules. The answer lists what each rule
    gave and why (capped, budget spent, out of scope…). The same event sent again answers
    the first record (200, `created: false`); another event under a used id is refused."""

    required_scopes = ("events:write",)
    idempotency = "optional"
    errors = (ApiErrorCode.EVENT_NAME_REQUIRED, MemberErrorCode.SELF_REFERRAL,
              ActivityErrorCode.INVALID_ACTIVITY, MemberErrorCode.MEMBER_NOT_FOUND,
              MemberErrorCode.MEMBER_CLOSED, MemberErrorCode.STORE_NOT_FOUND,
              MemberErrorCode.REFERRER_NOT_FOUND, ActivityErrorCode.SOURCE_KEY_CONFLICT)

    @extend_schema(operation_id="eventRecord", request=EventInputSerializer,
                   responses={201: EventOutcomeSerializer, 200: EventOutcomeSerializer},
                   summary="Record a behaviour event and pay it through the rules",
                   tags=["events"])
    def post(self, request):
        serializer = EventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payload = dict(data["payload"])
        if data.get("referrer"):
            payload["referrer"] = data["referrer"]
        if data.get("store"):
            payload["store"] = data["store"]
        activity = ActivityInput(member_id=data["member"], kind=data["type"],
                                 source_key=data["event_id"], name=data["name"],
                                 occurred_at=event_time(source_key=data["event_id"],
                                                        occurred_at=data.get("occurred_at")),
                                 payload=payload)

        def work():
            outcome = record_activity(data=activity)
            results = outcome.earned.results if outcome.earned else []
            body = {"event_id": data["event_id"], "created": outcome.created,
                    "points": outcome.earned.points_for(data["member"]) if outcome.earned else 0,
                    "rules": rule_results(results)}
            return Response(body, status=status.HTTP_201_CREATED if outcome.created
                            else status.HTTP_200_OK)

        return run_idempotent(request, work, required=False)
