"""Checkout holds: reserve points for an open basket, then capture or release them.

A hold belongs to the integrator whose key placed it: another integrator's key gets 404.
Each write requires an `Idempotency-Key`, like spending."""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode
from points.errors import HoldErrorCode, PointsError, PointsErrorCode
from points.models.holds import PointsHold
from points.selectors.holds import hold_for
from points.selectors.ledger import account_for
from points.services.holds import MAX_TTL, points_hold, points_hold_capture, points_hold_release
from points.services.posting import MAX_POINTS

from .base import MAX_ID, ApiView, body_member
from .fields import Input, Integer, Text
from .idempotency import run_idempotent
from .points import BalanceSerializer


class HoldSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    points = serializers.IntegerField(help_text="Points reserved.")
    captured = serializers.IntegerField(help_text="Points spent at capture (0 until then).")
    state = serializers.ChoiceField(PointsHold.State.choices)
    reference = serializers.CharField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class HoldOutcomeSerializer(serializers.Serializer):
    hold = HoldSerializer()
    balance = BalanceSerializer()


def outcome_body(outcome) -> dict:
    return {"hold": HoldSerializer(outcome.hold).data,
            "balance": BalanceSerializer(account_for(outcome.hold.member_id)).data}


def _hold_id(hold_id: int) -> int:
    if not 0 < hold_id <= MAX_ID:
        raise Http404
    return hold_id


class HoldCreateInputSerializer(Input):
    member = Integer(min_value=1, max_value=MAX_ID, help_text="Member id.")
    points = Integer(min_value=1, max_value=MAX_POINTS)
    ttl_minutes = Integer(
        min_value=1, max_value=int(MAX_TTL.total_seconds() // 60), default=30,
        help_text="Released by itself after this many minutes unless captured first.")
    reference = Text(max_length=100, blank=True, required=False, default="",
                     help_text="The basket or order number.")


class HoldCaptureInputSerializer(Input):
    points = Integer(min_value=1, max_value=MAX_POINTS,
                     help_text="At most the held amount; the rest is released.")


class HoldReleaseInputSerializer(Input):
    pass


HOLD_ERRORS = (HoldErrorCode.HOLD_NOT_FOUND, HoldErrorCode.HOLD_CLOSED)


class HoldDetailView(ApiView):
    """A hold's state, for a checkout that lost track of it (after a timeout, say). Only
    the integrator whose key placed the hold sees it; for others it does not exist."""

    required_scopes = ("points:write",)
    errors = (HoldErrorCode.HOLD_NOT_FOUND,)

    @extend_schema(operation_id="holdGet",
                   responses=HoldSerializer, summary="A hold's state (after a timeout, say)",
                   tags=["checkout"])
    def get(self, request, hold_id: int):
        hold = hold_for(hold_id=_hold_id(hold_id), owner_id=request.auth.owner_id)
        if hold is None:
            raise PointsError(HoldErrorCode.HOLD_NOT_FOUND)
        return Response(HoldSerializer(hold).data)


class HoldCreateView(ApiView):
    """Reserve points for an open basket: they leave their lots for the hold, so neither a
    spend nor expiry can take them, and come back by themselves when the hold's time runs
    out unless it is captured first."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (MemberErrorCode.MEMBER_NOT_FOUND, PointsErrorCode.INSUFFICIENT_POINTS,
              PointsErrorCode.MEMBER_FROZEN)

    @extend_schema(operation_id="holdCreate", request=HoldCreateInputSerializer,
                   responses={201: HoldOutcomeSerializer},
                   summary="Hold points for an open basket", tags=["checkout"])
    def post(self, request):
        serializer = HoldCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = body_member(data["member"])

        def work():
            outcome = points_hold(member_id=member.pk, points=data["points"],
                                  owner_id=request.auth.owner_id, reference=data["reference"],
                                  ttl=timedelta(minutes=data["ttl_minutes"]))
            return Response(outcome_body(outcome), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class HoldCaptureView(ApiView):
    """Capture a hold when the order is paid: spend at most the held points; the rest go
    back to the member. A hold is captured or released once."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (*HOLD_ERRORS, HoldErrorCode.HOLD_EXPIRED, HoldErrorCode.CAPTURE_EXCEEDS_HOLD)

    @extend_schema(operation_id="holdCapture", request=HoldCaptureInputSerializer,
                   responses={200: HoldOutcomeSerializer},
                   summary="Capture a hold: spend at most the held points", tags=["checkout"])
    def post(self, request, hold_id: int):
        hold_id = _hold_id(hold_id)
        serializer = HoldCaptureInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def work():
            outcome = points_hold_capture(hold_id=hold_id, owner_id=request.auth.owner_id,
                                          points=serializer.validated_data["points"])
            return Response(outcome_body(outcome))

        return run_idempotent(request, work, required=True)


class HoldReleaseView(ApiView):
    """Release a hold when the basket is abandoned: every held point goes back (points
    whose lot expired meanwhile expire at once)."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = HOLD_ERRORS

    @extend_schema(operation_id="holdRelease", request=HoldReleaseInputSerializer,
                   responses={200: HoldOutcomeSerializer},
                   summary="Release a hold: every held point goes back", tags=["checkout"])
    def post(self, request, hold_id: int):
        hold_id = _hold_id(hold_id)
        serializer = HoldReleaseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def work():
            outcome = points_hold_release(hold_id=hold_id, owner_id=request.auth.owner_id)
            return Response(outcome_body(outcome))

        return run_idempotent(request, work, required=True)
