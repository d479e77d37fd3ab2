"""Members: register, update, look up."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from core.clock import local_date
from core.phones import normalise_mobile
from members.errors import MemberError, MemberErrorCode
from members.models import Member
from members.selectors.consent import member_consents
from members.services.members import MemberInput, member_update

from ..errors import ApiError, ApiErrorCode
from ..services.intake import register_member
from .base import MAX_ID, ApiView, member_or_404
from .fields import Boolean, Date, Input, Integer, Text
from .idempotency import run_idempotent


class ConsentsSerializer(Input):
    """Marketing consent per channel: true agrees, false withdraws; a channel left out is
    not changed."""

    sms = Boolean(required=False)
    wecom = Boolean(required=False)
    ai_call = Boolean(required=False)
    clerk_call = Boolean(required=False)
    in_app = Boolean(required=False)


class ConsentsOutputSerializer(serializers.Serializer):
    sms = serializers.BooleanField()
    wecom = serializers.BooleanField()
    ai_call = serializers.BooleanField()
    clerk_call = serializers.BooleanField()
    in_app = serializers.BooleanField()


class MemberOutputSerializer(serializers.ModelSerializer):
    consents = serializers.SerializerMethodField(
        help_text="Marketing consent per channel (its history is kept with time and source).")
    home_store = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True,
                                              help_text="Store code; null without a home store.")

    class Meta:
        model = Member
        fields = ("id", "member_no", "mobile", "name", "gender", "birthday", "region",
                  "home_store", "source_channel", "referrer", "external_id", "status",
                  "marketing_consent", "marketing_consent_at", "marketing_consent_source",
                  "consents", "do_not_disturb", "contact_whitelist",
                  "created_at", "updated_at")

    @extend_schema_field(ConsentsOutputSerializer)
    def get_consents(self, member: Member) -> dict[str, bool]:
        return member_consents(member.pk)


class MemberInputSerializer(Input):
    mobile = Text(max_length=32, required=False,
                  help_text="A mainland mobile number, in any usual spelling "
                            "(13800138000, +86 138 0013 8000); stored as E.164.")
    name = Text(max_length=64, blank=True, required=False)
    gender = serializers.ChoiceField(Member.Gender.choices, required=False)
    birthday = Date(required=False, help_text="Not after today (Beijing time).")
    region = Text(max_length=64, blank=True, required=False)
    home_store = Text(max_length=32, required=False, help_text="Store code.")
    source_channel = serializers.ChoiceField(Member.Channel.choices, required=False)
    referrer = Integer(min_value=1, max_value=MAX_ID, required=False,
                       help_text="The referring member's id.")
    external_id = Text(max_length=64, blank=True, required=False,
                       help_text="The storefront's id for the member; blank clears it.")
    marketing_consent = Boolean(
        required=False, help_text="The same answer on every channel; `consents` wins "
                                  "for the channels it names.")
    consents = ConsentsSerializer(required=False)
    consent_source = Text(max_length=32, blank=True, required=False)
    do_not_disturb = Boolean(required=False, help_text="Service messages only.")
    contact_whitelist = Boolean(required=False,
                                help_text="Exempt from the marketing contact cap.")

    def validate_birthday(self, value):
        if value > local_date(timezone.now()):
            raise ApiError(ApiErrorCode.BIRTHDAY_IN_FUTURE)
        return value

    def member_input(self) -> MemberInput:
        data = self.validated_data
        return MemberInput(
            mobile=data.get("mobile"), name=data.get("name"), gender=data.get("gender"),
            birthday=data.get("birthday"), region=data.get("region"),
            home_store_code=data.get("home_store"), source_channel=data.get("source_channel"),
            referrer_id=data.get("referrer"), external_id=data.get("external_id"),
            marketing_consent=data.get("marketing_consent"),
            consent_source=data.get("consent_source") or "api",
            consents=dict(data["consents"]) if data.get("consents") else None,
            do_not_disturb=data.get("do_not_disturb"),
            contact_whitelist=data.get("contact_whitelist"),
        )


class RegisterInputSerializer(MemberInputSerializer):
    mobile = Text(max_length=32,
                  help_text="A mainland mobile number, in any usual spelling "
                            "(13800138000, +86 138 0013 8000); stored as E.164.")


MEMBER_WRITE_ERRORS = (MemberErrorCode.INVALID_MOBILE, ApiErrorCode.BIRTHDAY_IN_FUTURE,
                       MemberErrorCode.MOBILE_TAKEN, MemberErrorCode.EXTERNAL_ID_TAKEN,
                       MemberErrorCode.STORE_NOT_FOUND, MemberErrorCode.REFERRER_NOT_FOUND)


class MemberRegisterView(ApiView):
    """Register a member from the storefront. The mobile number is required and unique among
    members who are not closed; the answer carries the new member's id and member number.
    Registering pays the registration rules (welcome points) and, with a referrer, the
    referral rules."""

    required_scopes = ("members:write",)
    idempotency = "optional"
    errors = MEMBER_WRITE_ERRORS

    @extend_schema(operation_id="memberRegister", request=RegisterInputSerializer,
                   responses={201: MemberOutputSerializer}, summary="Register a member",
                   tags=["members"])
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

    @property
    def errors(self):
        if self.request.method == "GET":
            return ()
        return (*MEMBER_WRITE_ERRORS, MemberErrorCode.MEMBER_CLOSED, MemberErrorCode.SELF_REFERRAL)

    @extend_schema(operation_id="memberGet", responses=MemberOutputSerializer,
                   summary="Get a member", tags=["members"])
    def get(self, request, member_id: int):
        """A member by id, whatever their status (active, frozen or closed)."""
        return Response(MemberOutputSerializer(member_or_404(member_id)).data)

    @extend_schema(operation_id="memberUpdate", request=MemberInputSerializer,
                   responses=MemberOutputSerializer, summary="Update a member",
                   tags=["members"])
    def patch(self, request, member_id: int):
        """Change what the storefront knows about a member: only the fields sent change. A
        change of marketing consent (`consents` per channel, or `marketingConsent` for every
        channel) is recorded with its time and `consent_source`. A closed
        member cannot be changed."""
        serializer = MemberInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = member_update(member_id=member_or_404(member_id).pk,
                               data=serializer.member_input())
        return Response(MemberOutputSerializer(member).data)


class LookupQuerySerializer(serializers.Serializer):
    """The lookup's query parameters: bounded, and free of NUL (PostgreSQL refuses it)."""

    mobile = Text(max_length=32, required=False,
                  help_text="A mainland mobile number in any usual spelling; closed members "
                            "are skipped.")
    external_id = Text(max_length=64, required=False, help_text="The storefront's id.")
    member_no = Text(max_length=20, required=False, help_text="The member number.")


class MemberLookupView(ApiView):
    """Find a member by mobile number, storefront id or member number. Give at least one;
    with several, the first of mobile, external_id, member_no is used. A mobile number
    finds the member who is not closed; the other two find any member."""

    required_scopes = ("members:read",)
    errors = (ApiErrorCode.LOOKUP_KEY_REQUIRED, MemberErrorCode.INVALID_MOBILE,
              MemberErrorCode.MEMBER_NOT_FOUND)

    @extend_schema(operation_id="memberLookup", parameters=[LookupQuerySerializer],
                   responses=MemberOutputSerializer,
                   summary="Find a member by mobile, storefront id or member number",
                   tags=["members"])
    def get(self, request):
        lookup = LookupQuerySerializer(data=request.query_params.dict())
        lookup.is_valid(raise_exception=True)
        params = lookup.validated_data
        query = Member.objects.exclude(status=Member.Status.CLOSED)
        if "mobile" in params:
            try:
                query = query.filter(mobile=normalise_mobile(params["mobile"]))
            except ValueError:
                raise MemberError(MemberErrorCode.INVALID_MOBILE,
                                  mobile=params["mobile"]) from None
        elif "external_id" in params:
            query = Member.objects.filter(external_id=params["external_id"])
        elif "member_no" in params:
            query = Member.objects.filter(member_no=params["member_no"])
        else:
            raise ApiError(ApiErrorCode.LOOKUP_KEY_REQUIRED)
        member = query.first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        return Response(MemberOutputSerializer(member).data)
