"""Dynamic member codes: the code a member's app shows for the counter to scan."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from members.errors import MemberErrorCode

from ..services.member_code import VALID, member_code_issue
from .base import ApiView, member_or_404


class MemberCodeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The text to show as a QR code or barcode; the "
                                           "counter's find box takes it as scanned.")
    expires_at = serializers.DateTimeField(help_text="When the counter stops accepting it.")
    valid_seconds = serializers.IntegerField(help_text="How long it is valid (60).")


class MemberCodeView(ApiView):
    """A fresh dynamic member code for the member's app to show: signed, naming the member
    and a random nonce, accepted by the counter within 60 seconds and only once. Ask for a
    new one every minute; each call answers a different code and records nothing."""

    required_scopes = ("members:read",)
    errors = (MemberErrorCode.MEMBER_CLOSED,)

    @extend_schema(operation_id="memberCodeIssue", responses=MemberCodeSerializer,
                   summary="A dynamic member code for the counter (valid 60 seconds, once)",
                   tags=["members"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        issued = member_code_issue(member_id=member.pk)
        response = Response(MemberCodeSerializer({
            "code": issued.code, "expires_at": issued.expires_at,
            "valid_seconds": int(VALID.total_seconds())}).data)
        response["Cache-Control"] = "no-store"
        return response
