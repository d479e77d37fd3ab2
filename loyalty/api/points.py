"""Points: balances, history, spending and operator adjustments."""

from __future__ import annotations

import hashlib

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from members.errors import MemberErrorCode
from points.errors import PointsError, PointsErrorCode, SpendCancelErrorCode, TransferErrorCode
from points.models import AdjustReason, EntryKind, PointsEntry
from points.selectors import ledger as selectors
from points.services.ledger import points_adjust
from points.services.payments import points_pay
from points.services.posting import MAX_POINTS
from points.services.spend_cancel import points_spend_cancel
from points.services.transfers import points_transfer

from .base import MAX_ID, ApiView, body_member, member_or_404
from .fields import DateTime, Input, Integer, NoteField, Text
from .idempotency import idempotency_key, run_idempotent
from .pagination import Page


class BalanceSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    available = serializers.IntegerField()
    pending = serializers.IntegerField()
    held = serializers.IntegerField()
    debt = serializers.IntegerField()


class AwardSerializer(serializers.Serializer):
    rule = serializers.CharField(source="rule.rule_key")
    rule_name = serializers.CharField(source="rule.name")
    version = serializers.IntegerField(source="rule.version")
    points = serializers.IntegerField()
    detail = serializers.CharField()


class EntrySerializer(serializers.ModelSerializer):
    points = serializers.IntegerField(help_text="Change to available + pending.")
    rules = AwardSerializer(source="awards", many=True, read_only=True,
                            help_text="Why: the rule versions that paid this entry.")
    reason = serializers.CharField(help_text=(
        "The system's label or reason code: `return`, `reward <id>: <name>`, an adjustment's "
        "code (goodwill, correction, complaint, migration, other). Never typed text."))
    note = NoteField()

    class Meta:
        model = PointsEntry
        fields = ("id", "kind", "points", "available_delta", "pending_delta", "held_delta",
                  "debt_delta", "order", "reason", "note", "rules", "created_at")


class ExpiringSoonSerializer(serializers.Serializer):
    points = serializers.IntegerField(help_text="Available points expiring within the window.")
    date = serializers.DateField(allow_null=True,
                                 help_text="The first day (Beijing time) on which some of them "
                                           "can last be spent; null when none expire soon.")
    within_days = serializers.IntegerField()


class MemberBalanceSerializer(BalanceSerializer):
    expiring_soon = ExpiringSoonSerializer()


class BalanceView(ApiView):
    """A member's points: available to spend, pending (earned by sales still inside their
    return window), held at checkout, and debt (points reversed by returns beyond the
    balance, paid off by later earning). `expiring_soon` tells how many available points
    expire within the programme's warning window."""

    required_scopes = ("members:read",)

    @extend_schema(operation_id="pointsBalance", responses=MemberBalanceSerializer,
                   summary="A member's points balances", tags=["points"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        body = BalanceSerializer(selectors.account_for(member.pk)).data
        body["expiring_soon"] = ExpiringSoonSerializer(
            selectors.points_expiring_soon(member_id=member.pk)).data
        return Response(body)


class EntryQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(EntryKind.choices, required=False,
                                   help_text="Only entries of this kind.")
    created_after = DateTime(required=False, help_text="Entries at or after this time.")
    created_before = DateTime(required=False, help_text="Entries before this time.")


class EntryListView(ApiView, generics.ListAPIView):
    """A member's points history, newest first, one page at a time. Each entry says how it
    moved each balance and, for earning, which rule versions paid it and why."""

    required_scopes = ("members:read",)
    serializer_class = EntrySerializer
    pagination_class = Page

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return PointsEntry.objects.none()
        member = member_or_404(self.kwargs["member_id"])
        query = EntryQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        entries = selectors.entries_for(member.pk)
        if "kind" in params:
            entries = entries.filter(kind=params["kind"])
        if "created_after" in params:
            entries = entries.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            entries = entries.filter(created_at__lt=params["created_before"])
        return entries

    @extend_schema(operation_id="pointsEntries", parameters=[EntryQuerySerializer],
                   summary="A member's points history (newest first)", tags=["points"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SpendInputSerializer(Input):
    points = Integer(min_value=1, max_value=MAX_POINTS)
    reason = Text(max_length=200, blank=True, required=False, default="", help_text=(
        "What the spend is for, in the caller's words; kept as a note beside the ledger "
        "entry (the entry's `note`), which erasing the member blanks."))


class AdjustInputSerializer(Input):
    points = Integer(min_value=-MAX_POINTS, max_value=MAX_POINTS, nonzero=True,
                     help_text="Positive adds, negative removes; never 0.")
    reason = Text(max_length=200, help_text=(
        "What the adjustment is for; kept as a note beside the ledger entry."))
    reason_code = serializers.ChoiceField(choices=AdjustReason.choices,
                                          default=AdjustReason.OTHER)


class MovementSerializer(serializers.Serializer):
    entry = EntrySerializer()
    balance = BalanceSerializer()


def spend_reference(api_key_id: int, key: str) -> str:
    """A spend's payment reference: its Idempotency-Key, scoped (like every key) to the API
    key that sent it, so a sale sent with the same API key names it by that key alone."""
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"api-key:{api_key_id}:{key}"


def movement_body(movement) -> dict:
    return {"entry": EntrySerializer(movement.entry).data,
            "balance": BalanceSerializer(selectors.account_for(movement.entry.member_id)).data}


class SpendView(ApiView):
    """Spend a member's available points, soonest-expiring first (points on hold at checkout
    are not touched). A frozen member cannot spend. The answer is the ledger entry and the
    balances after it. The spend is a points payment: a sale that used these points as cash
    names it with `points_payment: {"spend": "<this Idempotency-Key>"}` (sent with the same
    API key), so that its return gives them back."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (PointsErrorCode.INSUFFICIENT_POINTS, PointsErrorCode.MEMBER_FROZEN)

    @extend_schema(operation_id="pointsSpend", request=SpendInputSerializer,
                   responses={201: MovementSerializer},
                   summary="Spend points (soonest-expiring first)", tags=["points"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = SpendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def work():
            # a points payment under the request's key: a sale names it {"spend": key}
            key = idempotency_key(request, required=True)
            paid = points_pay(member_id=member.pk, points=data["points"], note=data["reason"],
                              reference=spend_reference(request.auth.pk, key),
                              owner_id=request.auth.owner_id)
            return Response(movement_body(paid.movement), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class AdjustView(ApiView):
    """An operator's correction: add points (available at once, expiring by the programme's
    policy) or remove available points, with a reason kept on the entry and the API key's
    owner recorded as the operator. Applies to frozen members too."""

    required_scopes = ("points:admin",)
    idempotency = "required"
    errors = (PointsErrorCode.INSUFFICIENT_POINTS,)

    @extend_schema(operation_id="pointsAdjust", request=AdjustInputSerializer,
                   responses={201: MovementSerializer},
                   summary="Adjust points with a reason (attributed to the key's owner)",
                   tags=["points"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = AdjustInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def work():
            movement = points_adjust(member_id=member.pk, points=data["points"],
                                     reason=data["reason"], reason_code=data["reason_code"],
                                     operator_id=request.auth.owner_id)
            return Response(movement_body(movement), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class TransferInputSerializer(Input):
    to_member = Integer(min_value=1, max_value=MAX_ID,
                        help_text="The member who receives the points.")
    points = Integer(min_value=1, max_value=MAX_POINTS)
    reason = Text(max_length=200, blank=True, required=False, default="", help_text=(
        "Why, in the caller's words; kept as a note beside the sender's ledger entry."))


class TransferSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="transfer.pk")
    points = serializers.IntegerField(source="transfer.points")
    sender = serializers.IntegerField(source="transfer.sender_id")
    receiver = serializers.IntegerField(source="transfer.receiver_id")
    sender_entry = EntrySerializer(source="transfer.out_entry")
    receiver_entry = EntrySerializer(source="transfer.in_entry")
    sender_balance = BalanceSerializer()
    receiver_balance = BalanceSerializer()
    created_at = serializers.DateTimeField(source="transfer.created_at")


def transfer_key(api_key_id: int, key: str) -> str:
    """A transfer's key: its Idempotency-Key scoped to the API key that sent it."""
    scoped = f"api-key:{api_key_id}:{key}"
    if len(scoped) > 120:
        scoped = f"api-key:{api_key_id}:sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return scoped


class TransferView(ApiView):
    """Give some of a member's available points to another member (a family account, a
    gift). The points leave the sender's lots soonest-expiring first and arrive in new lots
    of the receiver's with the same expiry dates; both ledgers show a `transfer` entry.
    Pending and held points cannot be given. Each member may send (and, if the programme
    sets it, receive) a limited number of points per Beijing day."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (PointsErrorCode.INSUFFICIENT_POINTS, PointsErrorCode.MEMBER_FROZEN,
              TransferErrorCode.TRANSFER_TO_SELF, TransferErrorCode.TRANSFER_RECEIVER_FROZEN,
              TransferErrorCode.TRANSFER_DAILY_LIMIT, TransferErrorCode.TRANSFER_RECEIVE_LIMIT,
              MemberErrorCode.MEMBER_NOT_FOUND)

    @extend_schema(operation_id="pointsTransfer", request=TransferInputSerializer,
                   responses={201: TransferSerializer},
                   summary="Transfer points to another member (expiry dates kept)",
                   tags=["points"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = TransferInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        receiver = body_member(data["to_member"])

        def work():
            key = idempotency_key(request, required=True)
            outcome = points_transfer(
                sender_id=member.pk, receiver_id=receiver.pk, points=data["points"],
                key=transfer_key(request.auth.pk, key), note=data["reason"],
                owner_id=request.auth.owner_id)
            body = TransferSerializer({
                "transfer": outcome.transfer,
                "sender_balance": selectors.account_for(member.pk),
                "receiver_balance": selectors.account_for(receiver.pk)}).data
            return Response(body, status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)


class SpendCancelInputSerializer(Input):
    reason = Text(max_length=200, blank=True, required=False, default="", help_text=(
        "Why, in the caller's words; kept as a note beside the cancelling ledger entry."))


class SpendCancelView(ApiView):
    """Cancel a spend this API key's integrator made (`points/spend`), within the
    programme's window: its points go back to the lots they came from, each with its own
    expiry date; points back in a lot already past its date expire at once (an `expire`
    entry). A spend that paid an order cannot be cancelled (its points come back with the
    order's return); a cancelled spend can no longer be named as a sale's points payment.
    Cancelling the same spend again answers the first cancellation."""

    required_scopes = ("points:write",)
    idempotency = "required"
    errors = (SpendCancelErrorCode.SPEND_NOT_FOUND, SpendCancelErrorCode.SPEND_PAID_ORDER,
              SpendCancelErrorCode.SPEND_HAS_RECORD,
              SpendCancelErrorCode.SPEND_CANCEL_WINDOW_OVER)

    @extend_schema(operation_id="pointsSpendCancel", request=SpendCancelInputSerializer,
                   responses={201: MovementSerializer},
                   summary="Cancel a spend (points back to their lots)", tags=["points"])
    def post(self, request, member_id: int, entry_id: int):
        member = member_or_404(member_id)
        serializer = SpendCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        if not 0 < entry_id <= MAX_ID:
            raise PointsError(SpendCancelErrorCode.SPEND_NOT_FOUND)

        def work():
            movement = points_spend_cancel(member_id=member.pk, entry_id=entry_id,
                                           note=data["reason"],
                                           owner_id=request.auth.owner_id, owned_only=True)
            return Response(movement_body(movement), status=status.HTTP_201_CREATED)

        return run_idempotent(request, work, required=True)
