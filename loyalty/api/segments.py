"""Segment membership: is this member in the segment now, or in one of its snapshots."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from members.errors import MemberError, MemberErrorCode
from members.selectors.segments import segment_by_code, segment_contains, snapshot_contains

from .base import MAX_ID, ApiView, member_or_404


class MembershipSerializer(serializers.Serializer):
    segment = serializers.CharField()
    member = serializers.IntegerField()
    snapshot = serializers.IntegerField(allow_null=True,
                                        help_text="The snapshot checked; null for the live "
                                                  "segment.")
    member_of = serializers.BooleanField()


class SegmentMembershipView(ApiView):
    """Is the member in the segment now: its definition evaluated for this one member, on
    the facts as they stand."""

    required_scopes = ("members:read",)
    errors = (MemberErrorCode.SEGMENT_NOT_FOUND,)

    @extend_schema(operation_id="segmentMembership", responses=MembershipSerializer,
                   tags=["segments"],
                   summary="Is a member in a segment now")
    def get(self, request, segment: str, member_id: int):
        found = segment_by_code(segment)
        member = member_or_404(member_id)
        inside = segment_contains(found.expression, member.pk)
        return Response(MembershipSerializer({"segment": found.code, "member": member.pk,
                                              "snapshot": None, "member_of": inside}).data)


class SnapshotMembershipView(ApiView):
    """Was the member in one of the segment's snapshots (the frozen list a campaign was sent
    to, say)."""

    required_scopes = ("members:read",)
    errors = (MemberErrorCode.SEGMENT_NOT_FOUND, MemberErrorCode.SNAPSHOT_NOT_FOUND)

    @extend_schema(operation_id="snapshotMembership", responses=MembershipSerializer,
                   tags=["segments"],
                   summary="Was a member in a segment's snapshot")
    def get(self, request, segment: str, snapshot_id: int, member_id: int):
        found = segment_by_code(segment)
        if not 0 < snapshot_id <= MAX_ID:
            raise Http404
        snapshot = found.snapshots.filter(pk=snapshot_id).first()
        if snapshot is None:
            raise MemberError(MemberErrorCode.SNAPSHOT_NOT_FOUND)
        member = member_or_404(member_id)
        return Response(MembershipSerializer({
            "segment": found.code, "member": member.pk, "snapshot": snapshot.pk,
            "member_of": snapshot_contains(snapshot, member.pk)}).data)
