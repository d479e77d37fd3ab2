"""Transfers between members: lots carried soonest-expiry first with their dates, both
ledgers, once per key, daily limits, who may give and receive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from members.services.members import member_set_status
from points.errors import PointsError
from points.models import EntryKind, PointsEntry, PointsLot, PointsLotMovement, PointsTransfer
from points.services.ledger import points_earn, points_spend
from points.services.transfers import points_transfer
from tests.points.helpers import assert_ledger_consistent, balances, set_points_settings


def lot_earned(member, points, now, *, days_before: int):
    """A lot earned `days_before` days ago (so it expires that much sooner)."""
    return points_earn(member_id=member.pk, points=points, pending_days=0,
                       now=now - timedelta(days=days_before)).entry.lot


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.code.value


@pytest.fixture
def two(make_member):
    return make_member(), make_member()


def test_lots_are_carried_soonest_expiry_first_with_their_dates(two, now):
    sender, receiver = two
    set_points_settings(expiry_policy="rolling", expiry_months=12)
    late = lot_earned(sender, 100, now, days_before=10)
    early = lot_earned(sender, 30, now, days_before=200)

    outcome = points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=50,
                              key="gift-1", now=now)

    assert outcome.created
    assert balances(sender.pk)["available"] == 80
    assert balances(receiver.pk)["available"] == 50
    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.remaining, late.remaining) == (0, 80)  # the March lot went first
    received = {lot.carried_from_id: lot for lot in PointsLot.objects.filter(member=receiver)}
    assert set(received) == {early.pk, late.pk}
    assert received[early.pk].original == 30 and received[early.pk].expires_at == early.expires_at
    assert received[late.pk].original == 20 and received[late.pk].expires_at == late.expires_at
    assert all(lot.state == PointsLot.State.AVAILABLE for lot in received.values())
    # both ledgers show it, each with its movements
    out, into = outcome.transfer.out_entry, outcome.transfer.in_entry
    assert (out.member_id, out.kind, out.available_delta) == (sender.pk, EntryKind.TRANSFER, -50)
    assert (into.member_id, into.kind, into.available_delta) == (receiver.pk, EntryKind.TRANSFER, 50)
    assert sorted(PointsLotMovement.objects.filter(entry=out).values_list("points", flat=True)) == [-30, -20]
    assert sorted(PointsLotMovement.objects.filter(entry=into).values_list("points", flat=True)) == [20, 30]
    assert_ledger_consistent(sender.pk)
    assert_ledger_consistent(receiver.pk)


def test_received_points_are_spent_by_their_own_expiry(two, now):
    sender, receiver = two
    set_points_settings(expiry_policy="rolling", expiry_months=12)
    lot_earned(sender, 40, now, days_before=300)
    own = lot_earned(receiver, 40, now, days_before=0)
    points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=40, key="k", now=now)
    points_spend(member_id=receiver.pk, points=40, now=now)
    own.refresh_from_db()
    assert own.remaining == 40  # the gift expires sooner, so it is spent first
    assert_ledger_consistent(receiver.pk)


def test_the_same_key_transfers_once_and_other_contents_conflict(two, now):
    sender, receiver = two
    lot_earned(sender, 100, now, days_before=0)
    first = points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=10, key="k",
                            now=now)
    again = points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=10, key="k",
                            now=now)
    assert not again.created and again.transfer.pk == first.transfer.pk
    assert balances(sender.pk)["available"] == 90
    with pytest.raises(PointsError) as exc:
        points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=11, key="k",
                        now=now)
    assert code(exc) == "transfer_conflict"
    assert PointsTransfer.objects.count() == 1


def test_daily_limits_count_the_beijing_day(two, make_member, now):
    sender, receiver = two
    third = make_member()
    set_points_settings(transfer_daily_limit=100, transfer_daily_receive_limit=120)
    lot_earned(sender, 1000, now, days_before=0)
    lot_earned(third, 1000, now, days_before=0)
    points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=70, key="a", now=now)
    with pytest.raises(PointsError) as exc:
        points_transfer(sender_id=sender.pk, receiver_id=third.pk, points=31, key="b", now=now)
    assert code(exc) == "transfer_daily_limit" and exc.value.params["remaining"] == 30
    with pytest.raises(PointsError) as exc:
        points_transfer(sender_id=third.pk, receiver_id=receiver.pk, points=51, key="c", now=now)
    assert code(exc) == "transfer_receive_limit" and exc.value.params["remaining"] == 50
    # the next Beijing day starts afresh; a merge ignores the limits
    points_transfer(sender_id=sender.pk, receiver_id=third.pk, points=100, key="d",
                    now=now + timedelta(days=1))
    points_transfer(sender_id=sender.pk, receiver_id=third.pk, points=500, key="e", now=now,
                    limits=False)
    assert balances(third.pk)["available"] == 1600


def test_transfers_can_be_turned_off(two, now):
    sender, receiver = two
    set_points_settings(transfer_daily_limit=0)
    lot_earned(sender, 10, now, days_before=0)
    with pytest.raises(PointsError) as exc:
        points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=1, key="k", now=now)
    assert code(exc) == "transfer_daily_limit"


def test_refusals_write_nothing(two, now):
    sender, receiver = two
    lot_earned(sender, 10, now, days_before=0)
    points_earn(member_id=sender.pk, points=50, now=now, pending_days=7)  # pending: not given
    cases = [
        (dict(receiver_id=sender.pk, points=1), "transfer_to_self"),
        (dict(receiver_id=receiver.pk, points=11), "insufficient_points"),
        (dict(receiver_id=receiver.pk, points=0), "non_positive_amount"),
        (dict(receiver_id=receiver.pk, points=1, key=""), "transfer_key_required"),
        (dict(receiver_id=receiver.pk, points=1, key="x" * 121), "transfer_key_required"),
    ]
    for kwargs, expected in cases:
        kwargs.setdefault("key", "k")
        with pytest.raises(PointsError) as exc:
            points_transfer(sender_id=sender.pk, now=now, **kwargs)
        assert code(exc) == expected
    member_set_status(member_id=receiver.pk, status="frozen", now=now)
    with pytest.raises(PointsError) as exc:
        points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=1, key="k", now=now)
    assert code(exc) == "transfer_receiver_frozen"
    member_set_status(member_id=sender.pk, status="frozen", now=now)
    member_set_status(member_id=receiver.pk, status="active", now=now)
    with pytest.raises(PointsError) as exc:
        points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=1, key="k", now=now)
    assert code(exc) == "member_frozen"
    assert PointsTransfer.objects.count() == 0
    assert not PointsEntry.objects.filter(kind=EntryKind.TRANSFER).exists()
    assert balances(sender.pk) == {"available": 10, "pending": 50, "held": 0, "debt": 0}


def test_a_transfer_keeps_the_operator_and_the_note(two, now):
    sender, receiver = two
    operator = User.objects.create(username="ops")
    lot_earned(sender, 10, now, days_before=0)
    outcome = points_transfer(sender_id=sender.pk, receiver_id=receiver.pk, points=5, key="k",
                              note="给女儿", operator_id=operator.pk, now=now)
    transfer = outcome.transfer
    assert transfer.operator_id == operator.pk and transfer.note.text == "给女儿"
    assert transfer.out_entry.note_id == transfer.note_id
    assert transfer.note.member_id == sender.pk
