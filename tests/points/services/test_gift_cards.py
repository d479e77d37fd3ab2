"""Gift cards: batch issue with hashed PINs, activation, spend, expiry, and the guessing
limits on enquiries (per card and per caller)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.models import Sum

from points.errors import PointsError
from points.models import GiftCard, GiftCardEntry
from points.services.gift_cards import (
    gift_card_activate,
    gift_card_batch_issue,
    gift_card_enquire,
    gift_card_spend,
    gift_cards_expire_due,
)

D = Decimal


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def code(exc) -> str:
    return exc.value.code.value


def assert_card_consistent(card: GiftCard) -> None:
    card.refresh_from_db()
    total = card.entries.aggregate(s=Sum("amount"))["s"] or D(0)
    assert total == card.balance and card.balance >= 0


def test_a_batch_is_issued_with_unique_codes_and_only_hashes_of_the_pins(db, now):
    issued = gift_card_batch_issue(name="春节卡", face_value="200", quantity=1500, now=now)
    assert len(issued.cards) == 1500
    assert len({c.code for c in issued.cards}) == 1500
    assert all(len(c.code) == 16 and len(c.pin) == 6 for c in issued.cards)
    cards = GiftCard.objects.filter(batch=issued.batch)
    assert cards.count() == 1500
    assert not cards.exclude(balance=0).exists()  # no balance until sold
    first = issued.cards[0]
    stored = cards.get(code=first.code)
    assert first.pin not in stored.pin_hash and len(stored.pin_hash) == 64


@pytest.mark.parametrize("face, quantity", [("0", 1), ("10", 0), ("10", 10_001), ("x", 1)])
def test_bad_batches_are_refused(db, now, face, quantity):
    with pytest.raises(PointsError) as exc:
        gift_card_batch_issue(name="", face_value=face, quantity=quantity, now=now)
    assert code(exc) == "gift_card_batch_invalid"


def test_activate_spend_and_expire(db, now):
    card = gift_card_batch_issue(name="b", face_value="100", quantity=1, valid_days=30,
                                 now=now).cards[0]
    with pytest.raises(PointsError) as exc:
        gift_card_spend(code=card.code, pin=card.pin, amount="1", key="s0", now=now)
    assert code(exc) == "gift_card_not_active"
    gift_card_activate(code=card.code, key="act", now=now)
    assert gift_card_activate(code=card.code, key="act", now=now).created is False
    with pytest.raises(PointsError) as exc:
        gift_card_activate(code=card.code, key="act2", now=now)
    assert code(exc) == "gift_card_not_active"
    spent = gift_card_spend(code=card.code, pin=card.pin, amount="60", key="s1", now=now)
    assert spent.entry.amount == D("-60.00")
    with pytest.raises(PointsError) as exc:
        gift_card_spend(code=card.code, pin=card.pin, amount="40.01", key="s2", now=now)
    assert code(exc) == "insufficient_gift_card_balance"
    row = GiftCard.objects.get(code=card.code)
    assert row.balance == D("40.00")
    later = now + timedelta(days=32)
    with pytest.raises(PointsError) as exc:
        gift_card_spend(code=card.code, pin=card.pin, amount="1", key="s3", now=later)
    assert code(exc) == "gift_card_expired"
    assert gift_cards_expire_due(now=now + timedelta(days=29)) == 0
    assert gift_cards_expire_due(now=later) == 1
    assert gift_cards_expire_due(now=later) == 0
    row.refresh_from_db()
    assert (row.state, row.balance) == (GiftCard.State.EXPIRED, D("0.00"))
    assert GiftCardEntry.objects.get(card=row, kind="expire").amount == D("-40.00")
    assert_card_consistent(row)


def test_a_wrong_pin_and_an_unknown_code_answer_alike(db, now):
    card = gift_card_batch_issue(name="b", face_value="100", quantity=1, now=now).cards[0]
    gift_card_activate(code=card.code, key="act", now=now)
    wrong = "000000" if card.pin != "000000" else "111111"
    with pytest.raises(PointsError) as exc:
        gift_card_enquire(code=card.code, pin=wrong, caller="key-a")
    assert code(exc) == "gift_card_not_found"
    with pytest.raises(PointsError) as exc:
        gift_card_enquire(code="9" * 16, pin=card.pin, caller="key-a")
    assert code(exc) == "gift_card_not_found"
    assert gift_card_enquire(code=card.code, pin=card.pin, caller="key-a").balance == D("100")


def test_a_card_refuses_even_the_right_pin_after_five_wrong_ones(db, now, settings):
    settings.GIFT_CARD_PIN_FAILURES = 5
    card = gift_card_batch_issue(name="b", face_value="100", quantity=2, now=now).cards
    target, other = card
    wrong = "000000" if target.pin != "000000" else "111111"
    for i in range(5):  # from different callers: the limit is the card's
        with pytest.raises(PointsError) as exc:
            gift_card_enquire(code=target.code, pin=wrong, caller=f"key-{i}")
        assert code(exc) == "gift_card_not_found"
    with pytest.raises(PointsError) as exc:
        gift_card_enquire(code=target.code, pin=target.pin, caller="key-x")
    assert code(exc) == "gift_card_enquiries_throttled"
    assert 0 < exc.value.params["retry_after"] <= 15 * 60 + 1
    with pytest.raises(PointsError) as exc:  # spending with the PIN is refused too
        gift_card_spend(code=target.code, pin=target.pin, amount="1", key="s", now=now)
    assert code(exc) == "gift_card_enquiries_throttled"
    # another card is untouched
    assert gift_card_enquire(code=other.code, pin=other.pin, caller="key-x").code == other.code


def test_a_caller_may_make_so_many_enquiries_a_minute(db, now, settings):
    settings.GIFT_CARD_ENQUIRIES_PER_MINUTE = 3
    card = gift_card_batch_issue(name="b", face_value="100", quantity=1, now=now).cards[0]
    for _ in range(3):
        gift_card_enquire(code=card.code, pin=card.pin, caller="key-a")
    with pytest.raises(PointsError) as exc:
        gift_card_enquire(code=card.code, pin=card.pin, caller="key-a")
    assert code(exc) == "gift_card_enquiries_throttled"
    assert gift_card_enquire(code=card.code, pin=card.pin, caller="key-b").code == card.code
