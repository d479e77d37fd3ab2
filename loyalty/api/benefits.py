"""Benefits: what a member holds (with the multiplier and discount rate the system applies),
their granted benefits, and claiming and using them at the counter or in the storefront."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from points.errors import PointsErrorCode
from tiers.errors import TierErrorCode
from tiers.models.benefits import BenefitGrant
from tiers.models.paid import PaidMembership
from tiers.selectors import benefits as selectors
from tiers.services.benefits import MAX_UNITS, benefit_grant_claim, benefit_grant_use

from .base import ApiView, member_or_404
from .fields import Input, Integer
from .idempotency import run_idempotent
from .pagination import Page


class HeldBenefitSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    source = serializers.ChoiceField(choices=["tier", "plan"],
                                     help_text="Held through the tier or the paid plan.")
    multiplier = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    discount_rate = serializers.DecimalField(max_digits=4, decimal_places=3, allow_null=True)
    quantity = serializers.IntegerField(allow_null=True)
    grant_period = serializers.CharField()


class PaidMembershipSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code")
    active = serializers.SerializerMethodField(help_text="Paid until a time still ahead.")

    class Meta:
        model = PaidMembership
        fields = ("plan", "status", "active", "first_started_at", "period_started_at",
                  "ends_at", "purchases")

    def get_active(self, obj) -> bool:
        return obj.ends_at > self.context["now"]


class MemberBenefitsSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    points_multiplier = serializers.DecimalField(
        max_digits=4, decimal_places=2,
        help_text="What earning multiplies by: the better of the tier's and the paid plan's.")
    discount_rate = serializers.DecimalField(
        max_digits=4, decimal_places=3,
        help_text="The share of the price paid at checkout (0.95 = 5% off); 1 without one.")
    paid_membership = PaidMembershipSerializer(allow_null=True)
    benefits = HeldBenefitSerializer(many=True)


class MemberBenefitsView(ApiView):
    """What a member holds now: the points multiplier and checkout discount the system
    applies (the better of the tier's and the active paid plan's, never both), the paid
    membership if any, and each benefit with where it comes from."""

    required_scopes = ("members:read",)

    @extend_schema(operation_id="memberBenefits", responses=MemberBenefitsSerializer,
                   tags=["benefits"],
                   summary="A member's benefits, points multiplier, discount and paid membership")
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        now = timezone.now()
        membership = (PaidMembership.objects.select_related("plan")
                      .filter(member_id=member.pk).first())
        body = {
            "member": member.pk,
            "points_multiplier": selectors.member_points_multiplier(member_id=member.pk,
                                                                    now=now).value,
            "discount_rate": selectors.member_discount_rate(member_id=member.pk, now=now).value,
            "paid_membership": membership,
            "benefits": selectors.member_benefits(member_id=member.pk, now=now),
        }
        return Response(MemberBenefitsSerializer(body, context={"now": now}).data)


class GrantSerializer(serializers.ModelSerializer):
    benefit = serializers.CharField(source="benefit.code")
    benefit_name = serializers.CharField(source="benefit.name")
    kind = serializers.CharField(source="benefit.kind")
    remaining = serializers.IntegerField()

    class Meta:
        model = BenefitGrant
        fields = ("id", "benefit", "benefit_name", "kind", "period", "quantity",
                  "used_quantity", "remaining", "status", "granted_at", "expires_at",
                  "claimed_at")


class GrantListView(ApiView, generics.ListAPIView):
    """A member's granted benefits, newest first, one page at a time: what each grant
    holds, how much is used, and whether it is granted, claimed, used or expired."""

    required_scopes = ("members:read",)
    serializer_class = GrantSerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return BenefitGrant.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return BenefitGrant.objects.filter(member_id=member.pk).select_related("benefit")

    @extend_schema(operation_id="benefitGrantsList", tags=["benefits"],
                   summary="A member's benefit grants (newest first)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _grant_id(grant_id: int) -> int:
    return grant_id if 0 < grant_id < 2**63 else 0  # 0 is never a grant: answers 404


class GrantClaimView(ApiView):
    """Claim a granted benefit, at most once and before it expires. Claiming a coupon
    pack issues its coupons in the same transaction; if they cannot be issued the claim is
    undone and the grant stays claimable."""

    required_scopes = ("members:write",)
    idempotency = "optional"
    errors = (TierErrorCode.GRANT_NOT_FOUND, TierErrorCode.GRANT_EXPIRED,
              TierErrorCode.GRANT_ALREADY_CLAIMED, PointsErrorCode.COUPON_TEMPLATE_INACTIVE,
              PointsErrorCode.COUPON_CODES_EXHAUSTED, PointsErrorCode.MEMBER_FROZEN)

    @extend_schema(operation_id="benefitGrantClaim", request=None,
                   responses={200: GrantSerializer}, tags=["benefits"],
                   summary="Claim a granted benefit (at most once; a coupon pack issues its "
                           "coupons)")
    def post(self, request, member_id: int, grant_id: int):
        member = member_or_404(member_id)

        def work():
            grant = benefit_grant_claim(member_id=member.pk, grant_id=_grant_id(grant_id))
            return Response(GrantSerializer(grant).data)

        return run_idempotent(request, work, required=False)


class UseInputSerializer(Input):
    units = Integer(min_value=1, max_value=MAX_UNITS, default=1,
                    help_text="Units to use (one free-shipping voucher: 1).")


class UseSerializer(serializers.Serializer):
    grant = GrantSerializer()
    units = serializers.IntegerField()
    used_at = serializers.DateTimeField()


class GrantUseView(ApiView):
    """Use units of a claimed benefit, one order at a time, never more than granted;
    the last unit marks the grant used."""

    required_scopes = ("members:write",)
    idempotency = "required"
    errors = (TierErrorCode.GRANT_NOT_FOUND, TierErrorCode.GRANT_EXPIRED,
              TierErrorCode.GRANT_NOT_CLAIMED, TierErrorCode.GRANT_USED_UP)

    @extend_schema(operation_id="benefitGrantUse", request=UseInputSerializer,
                   responses={201: UseSerializer},
                   tags=["benefits"], summary="Use units of a claimed benefit")
    def post(self, request, member_id: int, grant_id: int):
        member = member_or_404(member_id)
        serializer = UseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        units = serializer.validated_data["units"]

        def work():
            used = benefit_grant_use(member_id=member.pk, grant_id=_grant_id(grant_id),
                                     units=units)
            body = UseSerializer({"grant": used.grant, "units": used.use.units,
                                  "used_at": used.use.used_at}).data
            return Response(body, status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)
