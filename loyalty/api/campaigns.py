"""Campaigns for a member: the offers they received ("your offers")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from campaigns.models import CampaignMember
from campaigns.selectors.campaigns import offer_detail, offers_for

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
