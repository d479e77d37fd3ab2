"""Issuing a batch of gift cards in the console answers the CSV of codes and PINs, once;
the programme keeps only the PINs' hashes, and a code as printed (groups of four) works."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from points.models import GiftCard, GiftCardBatch
from points.services.gift_cards import gift_card_activate, gift_card_enquire, pin_hash

pytestmark = pytest.mark.django_db


def test_issuing_a_batch_answers_its_codes_and_pins(client):
    cache.clear()
    admin = get_user_model().objects.create_superuser("root", password="x-unused-x")
    client.force_login(admin)
    answer = client.post("/admin/points/giftcardbatch/add/", {
        "name": "春节礼品卡", "face_value": "100.00", "quantity": "3", "valid_days": "30"})
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert len(rows) == 3
    batch = GiftCardBatch.objects.get()
    assert batch.actor_user_id == admin.pk and batch.quantity == 3
    for printed, pin, face in rows:
        code = printed.replace(" ", "")
        assert len(code) == 16 and len(pin) == 6 and face == "100.00"
        card = GiftCard.objects.get(code=code)
        assert card.pin_hash == pin_hash(code, pin) and pin not in card.pin_hash
    printed, pin, _face = rows[0]
    gift_card_activate(code=printed, key="act")  # as printed, with its spaces
    assert gift_card_enquire(code=printed, pin=pin, caller="test").balance == 100
    bad = client.post("/admin/points/giftcardbatch/add/", {
        "name": "x", "face_value": "0", "quantity": "3", "valid_days": "30"})
    assert bad.status_code == 200 and bad.context["adminform"].form.errors
    assert GiftCardBatch.objects.count() == 1
