"""Tenders in a request: how a sale or a checkout is paid (cash, stored value, gift cards,
points), parsed into the intake's `TenderInput`, and what each tender paid or got back."""

from __future__ import annotations

from rest_framework import exceptions, serializers

from points.models import TenderKind
from points.services.tenders import MAX_TENDERS, TenderInput

from .fields import Input, Money, Text
from .gift_cards import CODE_PATTERN, PIN_PATTERN


class TenderSerializer(Input):
    type = serializers.ChoiceField(TenderKind.choices,
                                   help_text="cash, stored_value, gift_card or points.")
    amount = Money(help_text="What this tender pays, in yuan.")
    code = Text(max_length=16, pattern=CODE_PATTERN, required=False,
                help_text="gift_card: the card's 16 digits.")
    pin = Text(max_length=6, pattern=PIN_PATTERN, required=False,
               help_text="gift_card: the card's PIN.")
    # a code or PIN on another kind of tender, or a gift card without both, is refused by
    # the intake's tender check (`tender_invalid`): a rule across fields, not a shape


def tenders_field(**kwargs) -> TenderSerializer:
    return TenderSerializer(many=True, required=False, allow_empty=False,
                            max_length=MAX_TENDERS, **kwargs)


SCOPE_FOR = {TenderKind.STORED_VALUE: "stored_value:write",
             TenderKind.GIFT_CARD: "gift_cards:write"}


def tender_inputs(request, tenders: list[dict]) -> tuple[TenderInput, ...]:
    """The tenders as the intake takes them; paying with stored value or a gift card needs
    the key's scope for it as well (`permission_denied`)."""
    for tender in tenders:
        scope = SCOPE_FOR.get(tender["type"])
        if scope and scope not in request.auth.scopes:
            raise exceptions.PermissionDenied(f"Paying with {tender['type']} needs the scope "
                                              f"{scope}.")
    return tuple(TenderInput(kind=t["type"], amount=t["amount"],
                             gift_card_code=t.get("code", ""), gift_card_pin=t.get("pin", ""))
                 for t in tenders)


class TenderOutputSerializer(serializers.Serializer):
    type = serializers.CharField(source="kind")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    gift_card = serializers.SerializerMethodField(help_text="The card's last four digits.")

    def get_gift_card(self, tender) -> str | None:
        entry = tender.gift_card_entry
        return f"…{entry.card.code[-4:]}" if entry else None


def tenders_body(tenders) -> list[dict]:
    return TenderOutputSerializer(tenders, many=True).data


__all__ = ["TenderOutputSerializer", "TenderSerializer", "tender_inputs",
           "tenders_body", "tenders_field"]
