"""The intake (loyalty.services.intake): each event runs in one transaction, a replay is answered
with the first outcome and fans out nothing, and deliveries that race each other — the
same sale from two tills, a retry storm — are stored exactly once.

The rules of each order, event and registration are tested in tests/members/."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta, timezone
from decimal import Decimal

import pytest
from django.db import transaction

from loyalty.services.intake import (
    ActivityOutcome,
    RegistrationOutcome,
    ReturnOutcome,
    SaleOutcome,
    record_activity,
    record_return,
    record_sale,
    register_member,
)
from members.errors import MemberError, OrderError
from members.models import ActivityKind, Member, MemberActivity, Order, OrderLine
from members.services.activity import ActivityInput
from members.services.members import MemberInput, member_set_status
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from tests.races import run_at_once

D = Decimal
AMOUNTS = ("gross_amount", "coupon_discount", "tier_discount", "other_discount",
           "points_cash", "net_amount")
LINES = (
    LineInput(line_no=1, sku="SKU-A", quantity=3, gross_amount=D("100.00"),
              coupon_discount=D("7.00"), tier_discount=D("3.01"), points_cash=D("2.00")),
    LineInput(line_no=2, sku="SKU-B", quantity=7, gross_amount=D("59.97"),
              other_discount=D("5.00")),
)


def sale_input(store, member, now, order_no="S-1", lines=LINES) -> SaleInput:
    return SaleInput(store_code=store.code, order_no=order_no, member_id=member.pk,
                     ordered_at=now, lines=lines)


def return_input(store, now, order_no, lines, sale_order_no="S-1") -> ReturnInput:
    return ReturnInput(store_code=store.code, order_no=order_no, sale_order_no=sale_order_no,
                       ordered_at=now + timedelta(hours=2),
                       lines=tuple(ReturnLineInput(n, q) for n, q in lines))


# --- replays -------------------------------------------------------------------------------


def test_the_same_sale_sent_twice_is_stored_once(store, member, now):
    first = record_sale(sale=sale_input(store, member, now), now=now)
    second = record_sale(sale=sale_input(store, member, now), now=now + timedelta(minutes=5))

    assert isinstance(second, SaleOutcome)
    assert (first.created, second.created) == (True, False)
    assert second.order.pk == first.order.pk
    assert second.order.created_at == now  # the first recording, not the replay
    assert (Order.objects.count(), OrderLine.objects.count()) == (1, 2)


def test_a_replay_in_another_time_zone_with_lines_reordered_is_the_same_sale(store, member, now):
    first = record_sale(sale=sale_input(store, member, now), now=now)

    again = record_sale(sale=sale_input(store, member, now.astimezone(timezone.utc),
                                        lines=tuple(reversed(LINES))))

    assert (again.created, again.order.pk) == (False, first.order.pk)


def test_a_replay_is_answered_even_after_the_member_was_closed(store, member, now):
    first = record_sale(sale=sale_input(store, member, now), now=now)
    member_set_status(member_id=member.pk, status=Member.Status.CLOSED, now=now)

    again = record_sale(sale=sale_input(store, member, now), now=now)

    assert (again.created, again.order.pk) == (False, first.order.pk)


def test_the_same_order_number_at_another_store_is_another_order(store, other_store, member,
                                                                  now):
    here = record_sale(sale=sale_input(store, member, now), now=now)
    there = record_sale(sale=sale_input(other_store, member, now), now=now)

    assert (here.created, there.created) == (True, True)
    assert here.order.pk != there.order.pk
    assert set(Order.objects.values_list("store__code", "order_no")) == {
        ("SH001", "S-1"), ("BJ001", "S-1")}


def test_the_same_return_sent_twice_is_stored_once(store, member, now):
    record_sale(sale=sale_input(store, member, now), now=now)
    everything = return_input(store, now, "R-1", [(1, 3), (2, 7)])

    first = record_return(ret=everything, now=now)
    second = record_return(ret=everything, now=now)  # the sale is fully returned by now

    assert isinstance(second, ReturnOutcome)
    assert (first.created, second.created) == (True, False)
    assert second.order.pk == first.order.pk
    assert Order.objects.filter(kind=Order.Kind.RETURN).count() == 1
    assert OrderLine.objects.filter(order__kind=Order.Kind.RETURN).count() == 2


def test_a_different_return_under_a_used_return_number_is_refused(store, member, now):
    record_sale(sale=sale_input(store, member, now), now=now)
    record_return(ret=return_input(store, now, "R-1", [(1, 1)]), now=now)

    with pytest.raises(OrderError) as info:
        record_return(ret=return_input(store, now, "R-1", [(1, 2)]), now=now)

    assert info.value.code.value == "order_number_conflict"
    assert OrderLine.objects.get(order__order_no="R-1").quantity == 1


def test_the_same_activity_is_answered_with_the_first_record(member, now):
    event = ActivityInput(member_id=member.pk, kind=ActivityKind.SHARE, source_key="share:9",
                          occurred_at=now)

    first = record_activity(data=event, now=now)
    second = record_activity(data=event, now=now + timedelta(hours=1))

    assert isinstance(second, ActivityOutcome)
    assert (first.created, second.created) == (True, False)
    assert second.activity.recorded_at == now


# --- registration fans out to the activity log ---------------------------------------------


def test_registration_writes_a_registration_event(db, now):
    outcome = register_member(data=MemberInput(mobile="13900139000"), now=now)

    assert isinstance(outcome, RegistrationOutcome)
    event = MemberActivity.objects.get(member=outcome.member)
    assert (event.kind, event.source_key, event.occurred_at) == (
        ActivityKind.REGISTRATION, f"registration:{outcome.member.pk}", now)


def test_a_refused_registration_writes_neither_member_nor_event(member, now):
    members, events = Member.objects.count(), MemberActivity.objects.count()

    with pytest.raises(MemberError) as info:
        register_member(data=MemberInput(mobile=member.mobile), now=now)

    assert info.value.code.value == "mobile_taken"
    assert (Member.objects.count(), MemberActivity.objects.count()) == (members, events)


# --- inside a caller's transaction ---------------------------------------------------------


def test_a_refused_order_rolls_back_only_itself(store, member, now):
    """An import posts many orders in one transaction; one bad order must not poison it."""
    with transaction.atomic():
        record_sale(sale=sale_input(store, member, now, order_no="S-1"), now=now)
        with pytest.raises(OrderError):
            record_return(ret=return_input(store, now, "R-1", [(1, 1), (2, 8)]), now=now)
        record_sale(sale=sale_input(store, member, now, order_no="S-2"), now=now)

    assert sorted(Order.objects.values_list("order_no", flat=True)) == ["S-1", "S-2"]
    assert not OrderLine.objects.filter(order__kind=Order.Kind.RETURN).exists()


# --- concurrent delivery -------------------------------------------------------------------

THREADS = 10




@pytest.mark.django_db(transaction=True)
def test_the_same_sale_from_ten_threads_is_stored_once(store, member, now):
    sale = sale_input(store, member, now)

    results = run_at_once(lambda i: record_sale(sale=sale, now=now), THREADS)

    errors = [r for kind, r in results if kind == "error"]
    assert errors == []
    outcomes = [r for _, r in results]
    assert len({o.order.pk for o in outcomes}) == 1
    assert Counter(o.created for o in outcomes) == {True: 1, False: THREADS - 1}
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == len(LINES)


@pytest.mark.django_db(transaction=True)
def test_racing_returns_never_exceed_the_sale(store, member, now):
    sale = record_sale(sale=sale_input(store, member, now), now=now).order
    # Ten returns of one unit of line 1 (3 sold) and two of line 2 (7 sold): three fit.
    returns = [return_input(store, now, f"R-{i}", [(1, 1), (2, 2)]) for i in range(THREADS)]

    results = run_at_once(lambda i: record_return(ret=returns[i], now=now), THREADS)

    stored = [r for kind, r in results if kind == "ok"]
    refused = [r for kind, r in results if kind == "error"]
    assert len(stored) == 3
    assert all(isinstance(e, OrderError) and e.code.value == "return_exceeds_sale"
               for e in refused), refused
    assert Order.objects.filter(original_order=sale).count() == 3
    line_1, line_2 = sale.lines.all()
    returned_1 = OrderLine.objects.filter(original_line=line_1)
    returned_2 = OrderLine.objects.filter(original_line=line_2)
    assert sum(r.quantity for r in returned_1) == 3
    assert sum(r.quantity for r in returned_2) == 6
    for name in AMOUNTS:  # line 1 is fully returned: exactly its amounts, not a cent more
        assert sum(getattr(r, name) for r in returned_1) == getattr(line_1, name), name
        assert sum(getattr(r, name) for r in returned_2) <= getattr(line_2, name), name


@pytest.mark.django_db(transaction=True)
def test_the_same_activity_from_ten_threads_is_recorded_once(member, now):
    event = ActivityInput(member_id=member.pk, kind=ActivityKind.CHECKIN,
                          source_key="mp:checkin:race", occurred_at=now, payload={"day": 1})

    results = run_at_once(lambda i: record_activity(data=event, now=now), THREADS)

    assert [r for kind, r in results if kind == "error"] == []
    outcomes = [r for _, r in results]
    assert len({o.activity.pk for o in outcomes}) == 1
    assert Counter(o.created for o in outcomes) == {True: 1, False: THREADS - 1}
    assert MemberActivity.objects.filter(source_key="mp:checkin:race").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_mobile_registered_from_ten_threads_enrols_one_member(now):
    results = run_at_once(
        lambda i: register_member(data=MemberInput(mobile="13900139000", name=f"客{i}"), now=now),
        THREADS)

    enrolled = [r for kind, r in results if kind == "ok"]
    refused = [r for kind, r in results if kind == "error"]
    assert len(enrolled) == 1
    assert all(isinstance(e, MemberError) and e.code.value == "mobile_taken"
               for e in refused), refused
    assert Member.objects.filter(mobile="+8613900139000").count() == 1
    assert MemberActivity.objects.filter(kind=ActivityKind.REGISTRATION).count() == 1


def test_a_sale_reads_the_settings_without_inserting_them(store, member, now):
    """Services read the settings singletons with `current()`: with no row saved, a sale
    earns on the defaults and inserts no settings row (an insert inside the sale's
    transaction would queue every concurrent sale on the singleton's unique index)."""
    from members.models import MemberSettings
    from points.models import PointsSettings
    from tests.points.helpers import sale_input
    from tiers.models import TierSettings

    for model in (MemberSettings, PointsSettings, TierSettings):
        model.objects.all().delete()
    record_sale(sale=sale_input(store, member.pk, now, "S-SETTINGS", "300.00"), now=now)
    assert [m.objects.count() for m in (MemberSettings, PointsSettings, TierSettings)] == [
        0, 0, 0]
