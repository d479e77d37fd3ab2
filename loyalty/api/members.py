"""Members: register, update, look up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from members.models import Member
from members.services import MemberInput, member_update

from ..intake import register_member
from .base import ApiView, member_or_404
from .idempotency import run_idempotent


class MemberOutputSerializer(serializers.ModelSerializer):
    home_store = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Member
        fields = ("id", "member_no", "mobile", "name", "gender", "birthday", "region",
                  "home_store", "source_channel", "referrer", "external_id", "status",
                  "marketing_consent", "marketing_consent_at", "marketing_consent_source",
                  "created_at", "updated_at")


class MemberInputSerializer(serializers.Serializer):
    mobile = serializers.CharField(max_length=32, required=False)
    name = serializers.CharField(max_length=64, required=False, allow_blank=True)
    gender = serializers.ChoiceField(Member.Gender.choices, required=False)
    birthday = serializers.DateField(required=False)
    region = serializers.CharField(max_length=64, required=False, allow_blank=True)
    home_store = serializers.CharField(max_length=32, required=False,
                                       help_text="Store code.")
    source_channel = serializers.ChoiceField(Member.Channel.choices, required=False)
    referrer = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False,
                                        help_text="The referring member's id.")
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    marketing_consent = serializers.BooleanField(required=False)
    consent_source = serializers.CharField(max_length=32, required=False, allow_blank=True)

    def member_input(self) -> MemberInput:
        data = self.validated_data
        return MemberInput(
            mobile=data.get("mobile"), name=data.get("name"), gender=data.get("gender"),
            birthday=data.get("birthday"), region=data.get("region"),
            home_store_code=data.get("home_store"), source_channel=data.get("source_channel"),
            referrer_id=data.get("referrer"), external_id=data.get("external_id"),
            marketing_consent=data.get("marketing_consent"),
            consent_source=data.get("consent_source") or "api",
        )


class RegisterInputSerializer(MemberInputSerializer):
    mobile = serializers.CharField(max_length=32)


class MemberRegisterView(ApiView):
    required_scopes = ("members:write",)
    idempotency = "optional"

    @extend_schema(request=RegisterInputSerializer, responses={201: MemberOutputSerializer},
                   summary="Register a member", tags=["members"])
    def post(self, request):
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def work():
            member = register_member(data=serializer.member_input()).member
            return Response(MemberOutputSerializer(member).data, status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=False)


class MemberDetailView(ApiView):
    @property
    def required_scopes(self):
        return ("members:read",) if self.request.method == "GET" else ("members:write",)

    @extend_schema(responses=MemberOutputSerializer, summary="Get a member", tags=["members"])
    def get(self, request, member_id: int):
        return Response(MemberOutputSerializer(member_or_404(member_id)).data)

    @extend_schema(request=MemberInputSerializer, responses=MemberOutputSerializer,
                   summary="Update a member", tags=["members"])
    def patch(self, request, member_id: int):
        serializer = MemberInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = member_update(member_id=member_or_404(member_id).pk,
                               data=serializer.member_input())
        return Response(MemberOutputSerializer(member).data)


class LookupQuerySerializer(serializers.Serializer):
    """The lookup's query parameters: bounded, and free of NUL (PostgreSQL refuses it)."""

    mobile = serializers.CharField(max_length=32, required=False, allow_blank=True,
                                   trim_whitespace=False)
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                        trim_whitespace=False)
    member_no = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                      trim_whitespace=False)


class MemberLookupView(ApiView):
    required_scopes = ("members:read",)

    @extend_schema(
        parameters=[OpenApiParameter("mobile", str), OpenApiParameter("external_id", str),
                    OpenApiParameter("member_no", str)],
        responses=MemberOutputSerializer, summary="Find a member by mobile, storefront id or "
        "member number", tags=["members"])
    def get(self, request):
        from core.phones import normalise_mobile

        lookup = LookupQuerySerializer(data=request.query_params)
        lookup.is_valid(raise_exception=True)
        params = lookup.validated_data
        query = Member.objects.exclude(status=Member.Status.CLOSED)
        if params.get("mobile"):
            try:
                query = query.filter(mobile=normalise_mobile(params["mobile"]))
            except ValueError:
                raise ValidationError({"mobile": [_("Not a valid mainland mobile number.")]})
        elif params.get("external_id"):
            query = Member.objects.filter(external_id=params["external_id"])
        elif params.get("member_no"):
            query = Member.objects.filter(member_no=params["member_no"])
        else:
            raise ValidationError({"non_field_errors": [
                _("Give one of mobile, external_id or member_no.")]})
        member = query.first()
        if member is None:
            from members.errors import MemberError, MemberErrorCode

            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        return Response(MemberOutputSerializer(member).data)
