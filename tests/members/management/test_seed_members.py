"""The seed_members command: rows that add up, the same rows for the same seed, and a second
run that adds members instead of clashing with the first."""

from __future__ import annotations

from datetime import date, datetime, timezone
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from core.phones import normalise_mobile
from members.management.commands.seed_members import (
    MOBILE_SPACE,
    RowGenerator,
    SeedStore,
    Start,
    mobile_suffix,
)
from members.models import Member, MemberActivity, MemberTag, Order, OrderLine
from members.services.members import MemberInput, member_register

UNTIL = "2026-01-01"
SEED = 3  # gives a few returns among ~50 members' orders


def seed(members: int = 50, seed: int = SEED) -> str:
    out = StringIO()
    call_command("seed_members", f"--members={members}", "--orders-per-member=4",
                 f"--seed={seed}", "--batch=20", "--stores=5", "--tags=8", f"--until={UNTIL}",
                 stdout=out)
    return out.getvalue()


def scalar(query: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


def check_invariants() -> None:
    # each order's amounts are the sums of its lines, and every order has lines
    assert scalar("""
        SELECT count(*) FROM members_order o
        LEFT JOIN (SELECT order_id, sum(gross_amount) g, sum(coupon_discount) c,
                          sum(tier_discount) t, sum(other_discount) od, sum(points_cash) p,
                          sum(net_amount) n
                   FROM members_orderline GROUP BY order_id) l ON l.order_id = o.id
        WHERE (o.gross_amount, o.coupon_discount, o.tier_discount, o.other_discount,
               o.points_cash, o.net_amount) IS DISTINCT FROM (l.g, l.c, l.t, l.od, l.p, l.n)
    """) == 0
    # returns never exceed what their sale line sold, in units or in any amount
    assert scalar("""
        SELECT count(*) FROM (
            SELECT s.id FROM members_orderline r JOIN members_orderline s ON s.id = r.original_line_id
            GROUP BY s.id
            HAVING sum(r.quantity) > min(s.quantity) OR sum(r.gross_amount) > min(s.gross_amount)
                OR sum(r.coupon_discount) > min(s.coupon_discount)
                OR sum(r.tier_discount) > min(s.tier_discount)
                OR sum(r.other_discount) > min(s.other_discount)
                OR sum(r.points_cash) > min(s.points_cash)
                OR sum(r.net_amount) > min(s.net_amount)) x
    """) == 0
    # a return's lines point at lines of its own sale, of the same member, made earlier
    assert scalar("""
        SELECT count(*) FROM members_orderline r
        JOIN members_order ro ON ro.id = r.order_id
        LEFT JOIN members_orderline s ON s.id = r.original_line_id
        LEFT JOIN members_order so ON so.id = ro.original_order_id
        WHERE ro.kind = 'return' AND (s.order_id IS DISTINCT FROM ro.original_order_id
              OR so.member_id <> ro.member_id OR so.ordered_at > ro.ordered_at
              OR so.kind <> 'sale')
    """) == 0
    assert not OrderLine.objects.filter(order__kind="sale", original_line__isnull=False).exists()
    # 1-3 lines per sale, orders after the member joined, nothing after the window
    assert scalar("""SELECT count(*) FROM (SELECT order_id FROM members_orderline
                     GROUP BY order_id HAVING count(*) > 3) x""") == 0
    assert scalar("""SELECT count(*) FROM members_order o JOIN members_member m ON m.id = o.member_id
                     WHERE o.ordered_at < m.created_at""") == 0
    until = datetime.fromisoformat(UNTIL).replace(tzinfo=timezone.utc)
    assert not Order.objects.filter(ordered_at__gt=until).exists()
    assert not Member.objects.filter(created_at__gt=until).exists()

    mobiles = list(Member.objects.exclude(mobile=None).values_list("mobile", flat=True))
    assert len(mobiles) == len(set(mobiles))
    assert all(normalise_mobile(m) == m for m in mobiles)
    assert all(m.mobile_last4 == m.mobile[-4:] for m in Member.objects.exclude(mobile=None))
    numbers = list(Member.objects.values_list("member_no", flat=True))
    assert len(numbers) == len(set(numbers)) and all(len(n) == 10 and n.isdigit() for n in numbers)
    # everyone registered once; event ids are unique (the column is unique, too)
    assert MemberActivity.objects.filter(kind="registration").count() == Member.objects.count()
    assert MemberActivity.objects.values("source_key").distinct().count() == MemberActivity.objects.count()


def test_seeded_rows_add_up(db):
    output = seed()

    assert "members_orderline" in output
    assert Member.objects.count() == 50
    sales = Order.objects.filter(kind="sale").count()
    returns = Order.objects.filter(kind="return").count()
    assert 100 <= sales + returns <= 300  # about four each
    assert 0 < returns < sales
    assert MemberTag.objects.exists()
    check_invariants()


@pytest.mark.django_db(transaction=True)
def test_second_run_adds_members_and_ordinary_inserts_still_work():
    # Outside a test transaction the command loads through two connections (see
    # FIRST_STAGE); inside one, as in the test above, through the test's own.
    seed()
    first = {table: model.objects.count()
             for table, model in (("members", Member), ("orders", Order), ("lines", OrderLine),
                                  ("tags", MemberTag), ("activity", MemberActivity))}
    seed()  # the same seed again: new ids, numbers and mobiles, no clash

    assert Member.objects.count() == 100
    assert Order.objects.count() == 2 * first["orders"]  # same draws, so the same amounts
    assert OrderLine.objects.count() == 2 * first["lines"]
    assert MemberTag.objects.count() == 2 * first["tags"]
    assert MemberActivity.objects.count() == 2 * first["activity"]
    check_invariants()

    # the sequences moved past the seeded rows: ordinary inserts get fresh ids and numbers
    member = member_register(data=MemberInput(mobile="13700000000", name="新会员"))
    assert member.pk > max(Member.objects.exclude(pk=member.pk).values_list("pk", flat=True))
    assert member.member_no > max(Member.objects.exclude(pk=member.pk)
                                  .values_list("member_no", flat=True))


def generator(seed: int) -> RowGenerator:
    return RowGenerator(
        seed=seed, start=Start(1, 10_000_001, 1, 1, 1, 1), until=date(2026, 1, 1),
        orders_per_member=5, stores=[SeedStore(i, "上海市") for i in range(2, 7)],
        online_store_id=1, tag_ids=list(range(1, 9)), taken_mobiles=set(),
    )


def test_same_seed_same_rows():
    first, again, other = generator(1), generator(1), generator(2)
    for size in (30, 20):  # batch after batch
        rows = first.batch(size).rows
        assert rows == again.batch(size).rows
        assert rows["members_member"] != other.batch(size).rows["members_member"]


def test_taken_mobile_numbers_are_skipped():
    plain = generator(1).batch(5).rows["members_member"]
    taken = {int(row.split("\t")[2][3:]) for row in plain if row.split("\t")[2] != "\\N"}
    avoiding = generator(1)
    avoiding.taken_mobiles = taken
    mobiles = [row.split("\t")[2] for row in avoiding.batch(5).rows["members_member"]]
    assert taken and not {int(m[3:]) for m in mobiles if m != "\\N"} & taken


def test_mobile_suffixes_of_distinct_ids_differ():
    ids = [*range(1, 20_001), *range(MOBILE_SPACE - 20_000, MOBILE_SPACE)]
    suffixes = {mobile_suffix(i) for i in ids}
    assert len(suffixes) == len(ids)
    assert all(0 <= s < MOBILE_SPACE for s in suffixes)
