"""verify_ledger (points.services.verify): a clean ledger passes; a row altered by hand in
SQL with the triggers lifted, a row removed, a forged balance, a forged lot and a cut-off
chain are each found and named, by a full run and by the incremental one."""

from __future__ import annotations

from datetime import timedelta

import pgtrigger
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from points.models import LedgerCheckpoint, LedgerVerification, PointsEntry
from points.services.holds import points_hold
from points.services.ledger import points_earn, points_expire_due, points_spend
from points.services.verify import ledger_verify
from tests.points.helpers import set_points_settings

LIFTED = ("points.PointsEntry:append_only", "points.PointsLotMovement:append_only")


@pytest.fixture
def ledger(make_member, now):
    """Five members with a few months of earning, spending, a hold and an expiry."""
    set_points_settings(pending_days=0, expiry_months=2, points_per_yuan=1)
    members = [make_member() for _ in range(5)]
    for month in range(4):
        at = now + timedelta(days=30 * month)
        for i, member in enumerate(members):
            points_earn(member_id=member.pk, points=100 + i, now=at)
            points_spend(member_id=member.pk, points=30, now=at + timedelta(hours=1))
        points_expire_due(now=at + timedelta(days=1))
    points_hold(member_id=members[2].pk, points=20, now=now + timedelta(days=100))
    return members


def sql(statement: str, params=()) -> int:
    with pgtrigger.ignore(*LIFTED), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def problems(run: LedgerVerification) -> dict[int, set[str]]:
    return {d["member"]: {p["code"] for p in d["problems"]} for d in run.differences}


def middle_entry(member) -> PointsEntry:
    ids = list(PointsEntry.objects.filter(member=member).order_by("id").values_list("id", flat=True))
    assert len(ids) >= 6
    return PointsEntry.objects.get(pk=ids[len(ids) // 2])


def test_a_clean_ledger_passes_and_leaves_checkpoints(ledger):
    run = ledger_verify(full=True)
    assert run.clean and run.differences == []
    assert run.accounts_checked == 5
    assert run.entries_checked == PointsEntry.objects.count()
    checkpoint = LedgerCheckpoint.objects.get(member=ledger[0])
    last = PointsEntry.objects.filter(member=ledger[0]).latest("id")
    assert (checkpoint.last_entry_id, bytes(checkpoint.last_hash)) == (last.pk, bytes(last.hash))
    # incremental: nothing written since, so no entry is read again
    again = ledger_verify()
    assert again.clean and again.entries_checked == 0 and again.accounts_checked == 5


@pytest.mark.parametrize("full", [True, False], ids=["full", "incremental-before-checkpoint"])
def test_a_row_altered_by_hand_is_found(ledger, full):
    if not full:
        ledger_verify(full=True)  # checkpoints taken; the tampering comes after them
    victim = middle_entry(ledger[1])
    # the figure and the balance changed together, so the sums still agree: only the
    # chain can tell
    assert sql("UPDATE points_pointsentry SET reason = 'goodwill', created_at = created_at "
               "- interval '1 day' WHERE id = %s", [victim.pk]) == 1
    run = ledger_verify(full=full)
    if full:
        assert problems(run) == {ledger[1].pk: {"chain"}}
        [difference] = run.differences
        assert str(victim.pk) in difference["problems"][0]["detail"]
    else:
        # an incremental run reads only what was written after the checkpoints
        assert run.clean
        assert problems(ledger_verify(full=True)) == {ledger[1].pk: {"chain"}}


def test_an_amount_altered_with_its_balance_is_found(ledger):
    victim = PointsEntry.objects.filter(member=ledger[3], kind="spend").latest("id")
    sql("UPDATE points_pointsentry SET available_delta = available_delta + 10 WHERE id = %s",
        [victim.pk])
    sql("UPDATE points_pointsaccount SET available = available + 10 WHERE member_id = %s",
        [ledger[3].pk])
    found = problems(ledger_verify(full=True))
    assert "chain" in found[ledger[3].pk]
    assert set(found) == {ledger[3].pk}


def test_a_deleted_row_is_found(ledger):
    victim = middle_entry(ledger[0])
    sql("DELETE FROM points_pointslotmovement WHERE entry_id = %s", [victim.pk])
    sql("DELETE FROM points_pointsentry WHERE id = %s", [victim.pk])
    found = problems(ledger_verify(full=True))
    assert set(found) == {ledger[0].pk}
    assert {"chain", "balance"} <= found[ledger[0].pk]


def test_the_last_row_deleted_is_found_by_the_head(ledger):
    last = PointsEntry.objects.filter(member=ledger[4]).latest("id")
    sql("DELETE FROM points_pointslotmovement WHERE entry_id = %s", [last.pk])
    sql("DELETE FROM points_pointsentry WHERE id = %s", [last.pk])
    # the balances put back as they were before it, so only the head can tell
    sql("UPDATE points_pointsaccount SET available = available - %s, pending = pending - %s, "
        "held = held - %s, debt = debt - %s WHERE member_id = %s",
        [last.available_delta, last.pending_delta, last.held_delta, last.debt_delta,
         ledger[4].pk])
    sql("UPDATE points_pointslot l SET remaining = m.s FROM (SELECT lot_id, sum(points) s "
        "FROM points_pointslotmovement GROUP BY lot_id) m WHERE m.lot_id = l.id "
        "AND l.member_id = %s", [ledger[4].pk])
    assert "head" in problems(ledger_verify(full=True))[ledger[4].pk]


def test_a_forged_balance_is_found_by_both_runs(ledger):
    ledger_verify(full=True)
    sql("UPDATE points_pointsaccount SET available = available + 500 WHERE member_id = %s",
        [ledger[2].pk])
    incremental = ledger_verify()
    assert problems(incremental) == {ledger[2].pk: {"balance"}}
    assert "available" in incremental.differences[0]["problems"][0]["detail"]
    assert problems(ledger_verify(full=True))[ledger[2].pk] >= {"balance", "lots"}
    # reported again by every run until put right; the others' checkpoints move on
    assert problems(ledger_verify()) == {ledger[2].pk: {"balance"}}


def test_a_forged_lot_is_found(ledger):
    lot_id = PointsEntry.objects.filter(member=ledger[1], kind="earn").latest("id").lot_id
    sql("UPDATE points_pointslot SET remaining = remaining - 1 WHERE id = %s", [lot_id])
    run = ledger_verify(full=True)
    assert problems(run) == {ledger[1].pk: {"lots"}}
    assert any(str(lot_id) in p["detail"] for p in run.differences[0]["problems"])


def test_a_chain_rewritten_after_the_checkpoint_is_found(ledger):
    """Someone who alters a row and recomputes every later hash and the head leaves a
    consistent chain, but not the one the checkpoint of an earlier run recorded."""
    ledger_verify(full=True)
    member = ledger[0]
    victim = middle_entry(member)
    sql("UPDATE points_pointsentry SET reason = 'x' WHERE id = %s", [victim.pk])
    from points.chain import ENTRY_CHAIN
    with pgtrigger.ignore(*LIFTED), connection.cursor() as cursor:
        ENTRY_CHAIN.rechain(cursor, after=member.pk - 1, upto=member.pk)
    points_earn(member_id=member.pk, points=1, now=victim.created_at + timedelta(days=400))
    assert "checkpoint" in problems(ledger_verify())[member.pk]
    # the rewritten chain is consistent in itself: only the checkpoint tells, in a full run too
    assert problems(ledger_verify(full=True)) == {member.pk: {"checkpoint"}}


def test_new_entries_are_checked_incrementally(ledger, now):
    ledger_verify(full=True)
    points_earn(member_id=ledger[0].pk, points=7, now=now + timedelta(days=200))
    points_earn(member_id=ledger[1].pk, points=8, now=now + timedelta(days=200))
    run = ledger_verify()
    assert run.clean and run.entries_checked == 2
    points_earn(member_id=ledger[1].pk, points=8, now=now + timedelta(days=201))
    points_earn(member_id=ledger[1].pk, points=1, now=now + timedelta(days=202))
    fresh = PointsEntry.objects.filter(member=ledger[1]).order_by("-id")[1]
    sql("UPDATE points_pointsentry SET created_at = created_at + interval '1 second' "
        "WHERE id = %s", [fresh.pk])
    # the altered entry came after the checkpoint: the incremental run reads it and finds it
    run = ledger_verify()
    assert problems(run) == {ledger[1].pk: {"chain"}} and run.entries_checked == 2


def test_the_command_prints_every_differing_account_and_fails(ledger, capsys):
    sql("UPDATE points_pointsaccount SET debt = debt + 1 WHERE member_id = ANY(%s)",
        [[ledger[0].pk, ledger[3].pk]])
    with pytest.raises(CommandError, match="2 accounts differ"):
        call_command("verify_ledger", "--full")
    out = capsys.readouterr().out
    assert f"member {ledger[0].pk}: balance debt" in out
    assert f"member {ledger[3].pk}: balance debt" in out
    sql("UPDATE points_pointsaccount SET debt = debt - 1 WHERE member_id = ANY(%s)",
        [[ledger[0].pk, ledger[3].pk]])
    call_command("verify_ledger")
    assert "0 differ" in capsys.readouterr().out
