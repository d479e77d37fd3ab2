"""Campaigns for a member: the offers they received ("your offers"); a campaign's results."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from campaigns.models import Campaign, CampaignMember
from campaigns.selectors.campaigns import offer_detail, offers_for
from campaigns.selectors.results import campaign_results

from .base import ApiView, member_or_404
from .pagination import Page


class OfferGiftSerializer(serializers.Serializer):
    name = serializers.CharField()
    store = serializers.CharField(source="store.code", allow_null=True, default=None,
                                  help_text="The store to collect it at.")
    collect_by = serializers.DateField(help_text="The last day to collect it (Beijing).")
    collected_at = serializers.DateTimeField(allow_null=True)


class OfferSerializer(serializers.Serializer):
    campaign = serializers.CharField(source="campaign.code")
    name = serializers.CharField(source="campaign.name")
    occasion = serializers.CharField(help_text="`once`, the date of a recurring occasion, "
                                               "`birthday:<year>`, …")
    variant = serializers.CharField(allow_null=True)
    acted_at = serializers.DateTimeField()
    points = serializers.IntegerField(help_text="Bonus points credited (0 for none).")
    coupons = serializers.ListField(child=serializers.CharField(),
                                    help_text="Codes of the coupons issued.")
    gifts = OfferGiftSerializer(many=True)
    messages = serializers.IntegerField(help_text="Messages queued for the member.")


class MemberOffersView(ApiView, generics.ListAPIView):
    """The campaigns that acted on a member, newest first, and what each did for them:
    points, coupons, gifts to collect, messages."""

    required_scopes = ("campaigns:read",)
    serializer_class = OfferSerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return CampaignMember.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        return offers_for(member.pk).order_by("-id")

    @extend_schema(operation_id="memberOffers", summary="A member's campaign offers "
                   "(newest first)", tags=["campaigns"])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        data = OfferSerializer([offer_detail(row) for row in page], many=True).data
        return self.get_paginated_response(data)


class ArmSerializer(serializers.Serializer):
    members = serializers.IntegerField(help_text="Campaign member rows (a member on one "
                                                 "occasion) in the arm.")
    converted = serializers.IntegerField(help_text="Rows with a sale within the window.")
    conversion_rate = serializers.DecimalField(max_digits=6, decimal_places=4,
                                               allow_null=True)
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2,
                                       help_text="Net paid on those sales, less returns.")
    points = serializers.IntegerField(help_text="Bonus points credited.")
    points_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    coupons_used = serializers.IntegerField()
    coupon_cost = serializers.DecimalField(max_digits=14, decimal_places=2,
                                           help_text="Discount given by redeemed coupons.")
    gifts = serializers.IntegerField(help_text="Gifts collected.")
    gift_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    lift = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True,
                                    help_text="Conversion rate − the control group's; null "
                                              "without a control group (unknown).")
    lift_low = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    lift_high = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    incremental_revenue = serializers.DecimalField(max_digits=14, decimal_places=2,
                                                   allow_null=True)
    roi = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True,
                                   help_text="(incremental revenue − cost) ÷ cost.")


class VariantArmSerializer(ArmSerializer):
    code = serializers.CharField()


class ResultsSerializer(serializers.Serializer):
    campaign = serializers.CharField(source="campaign.code")
    window_days = serializers.IntegerField(source="days_window",
                                           help_text="The attribution window, in days from "
                                                     "each member's occasion.")
    treated = ArmSerializer(help_text="All variants together.")
    variants = VariantArmSerializer(many=True)
    control = ArmSerializer(allow_null=True, help_text="Null without a control group.")


class CampaignResultsView(ApiView):
    """A campaign's results now: per variant, all variants together and the control group —
    members, conversions within 14 days of each member's occasion, revenue net of returns,
    cost (points at value, coupons used, gifts collected), lift with its 95% interval,
    incremental revenue and ROI (null: unknown, without a control group)."""

    required_scopes = ("campaigns:read",)

    @extend_schema(operation_id="campaignResults", responses={200: ResultsSerializer},
                   summary="A campaign's results, lift and ROI", tags=["campaigns"])
    def get(self, request, campaign_code: str):
        campaign = get_object_or_404(Campaign, code=campaign_code, is_template=False)
        return Response(ResultsSerializer(campaign_results(campaign)).data)
