"""A member's points and tier as they stood at the end of a past day (Beijing calendar),
from the ledgers: for disputes ("what did I have on 1 March?")."""

from __future__ import annotations

from types import SimpleNamespace

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from points.selectors.as_of import points_as_of
from tiers.selectors.ladder import tier_as_of

from .base import ApiView, member_or_404
from .fields import Date, Input


class AsOfQuerySerializer(Input):
    date = Date(help_text="The day (Beijing calendar): the answer is as at its end.")


class LotAsOfSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="lot_id")
    state = serializers.ChoiceField(["pending", "available"])
    original = serializers.IntegerField(help_text="Points the lot was given.")
    remaining = serializers.IntegerField(help_text="Points left in it at the end of the day.")
    earned_at = serializers.DateTimeField()
    unlocks_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class TierAsOfSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MemberAsOfSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    date = serializers.DateField(source="day")
    available = serializers.IntegerField()
    pending = serializers.IntegerField()
    held = serializers.IntegerField()
    debt = serializers.IntegerField()
    lots = LotAsOfSerializer(many=True, help_text="Lots holding points, in spending order.")
    lots_reconstructed = serializers.BooleanField(
        source="reconstructed",
        help_text="True for a day before per-lot movements were recorded: the lots are "
                  "replayed from the entries by the spending order, not read. Balances are "
                  "always exact.")
    tier = TierAsOfSerializer(allow_null=True, help_text="Null before any tier.")


class MemberAsOfView(ApiView):
    """A member's points balances, lots and tier at the end of a past day (Beijing
    calendar), from the points ledger and the tier-change history."""

    required_scopes = ("members:read",)

    @extend_schema(operation_id="memberAsOf", parameters=[AsOfQuerySerializer],
                   responses=MemberAsOfSerializer,
                   summary="A member's points, lots and tier on a past day", tags=["points"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        query = AsOfQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        answer = points_as_of(member_id=member.pk, day=query.validated_data["date"])
        tier = tier_as_of(member.pk, answer.cutoff)
        return Response(MemberAsOfSerializer(SimpleNamespace(**vars(answer), tier=tier)).data)
