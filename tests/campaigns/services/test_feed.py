"""The commit-ordered feed (campaigns.selectors.feed, campaigns.services.feed): rows are
read in commit order after a cursor, never before their transaction commits, and a row
committed late by an old transaction is never skipped nor read twice.

Every test is transactional: inside one test transaction nothing would ever commit, and
the feed (rightly) would show nothing."""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import FeedCursor
from campaigns.selectors.feed import SOURCES, FeedPosition, feed_horizon, feed_lag, feed_read
from campaigns.services.feed import feed_consume, feed_cursor_open
from loyalty.services.intake import record_sale, register_member
from members.models import Tag
from members.services.members import MemberInput
from members.services.orders import LineInput, SaleInput
from members.services.tags import member_tags_add
from tests.campaigns.feed_helpers import feed_settle, settled_read
from tiers.models.paid import PaidPlan
from tiers.services.paid import paid_purchase

pytestmark = pytest.mark.django_db(transaction=True)
START = FeedPosition(0, 0)


def _tag_change(member_id: int, tag_id: int = 1) -> int:
    """A history row written the way the tag trigger writes it (plain ids, no keys)."""
    with connection.cursor() as cursor:
        cursor.execute("""INSERT INTO members_tagchange (member_id, tag_id, action, cause, changed_at)
                          VALUES (%s, %s, 'added', 'system', now()) RETURNING id""",
                       [member_id, tag_id])
        return cursor.fetchone()[0]


def _ids(rows) -> list[int]:
    return [r.id for r in rows]


def test_a_row_committed_late_by_an_older_transaction_is_neither_skipped_nor_read_twice():
    """A begins and inserts (its id is the smaller); B inserts and commits; the reader
    reads; A commits; the reader reads. An id cursor would have read B, moved past A's id
    and lost A for ever."""
    a_inserted, a_may_commit = threading.Event(), threading.Event()
    a_row: list[int] = []

    def transaction_a() -> None:
        try:
            with transaction.atomic():
                a_row.append(_tag_change(1001))
                a_inserted.set()
                assert a_may_commit.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=transaction_a)
    thread.start()
    assert a_inserted.wait(30)
    with transaction.atomic():                      # B, in the reader's own connection
        b_row = _tag_change(1002)
    assert b_row > a_row[0]

    position = START
    first = feed_read(source="tag_changes", after=position)
    # B has committed, but an older transaction (A) is still running: B waits behind it
    assert first == []
    assert feed_lag(source="tag_changes", after=position) == {"ready": 0, "waiting": 1}

    a_may_commit.set()
    thread.join(30)
    assert not thread.is_alive()
    second = settled_read("tag_changes", position)
    assert _ids(second) == [a_row[0], b_row]        # commit order: A's transaction is older
    position = second[-1].position
    assert feed_read(source="tag_changes", after=position) == []
    assert feed_lag(source="tag_changes", after=position) == {"ready": 0, "waiting": 0}


def test_the_reader_reads_what_committed_before_a_running_transaction_and_waits_at_it():
    """Rows of transactions older than the running one are read; rows of the running one
    and of anything younger are not, until it ends; a rolled-back transaction leaves
    nothing."""
    with transaction.atomic():
        early = _tag_change(1)
    feed_settle()
    started, finish = threading.Event(), threading.Event()

    def rolled_back() -> None:
        try:
            with transaction.atomic():
                _tag_change(2)
                started.set()
                assert finish.wait(30)
                transaction.set_rollback(True)
        finally:
            connection.close()

    thread = threading.Thread(target=rolled_back)
    thread.start()
    assert started.wait(30)
    with transaction.atomic():
        late = _tag_change(3)
    assert _ids(feed_read(source="tag_changes", after=START)) == [early]
    finish.set()
    thread.join(30)
    assert _ids(settled_read("tag_changes", START)) == [early, late]


def test_many_writers_committing_in_random_order_while_the_reader_polls():
    """Eight writers, each committing a few rows after a random delay, while a consumer
    polls its cursor in small batches: every committed row is handed on exactly once, in
    (txid, id) order."""
    cursor = feed_cursor_open(name="test:race", source="tag_changes", from_start=True)
    assert cursor.last_txid == 0
    committed: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for _ in range(15):
                with transaction.atomic():
                    ids = [_tag_change(seed) for _ in range(rnd.randint(1, 3))]
                    time.sleep(rnd.random() * 0.02)
                with lock:
                    committed.extend(ids)
        finally:
            connection.close()

    def reader() -> None:
        try:
            while not stop.is_set():
                feed_consume(name="test:race", batch=7,
                             handle=lambda rows: seen.extend((r.txid, r.id) for r in rows))
                time.sleep(0.005)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    poller = threading.Thread(target=reader)
    poller.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(60)
    stop.set()
    poller.join(60)
    feed_settle()
    feed_consume(name="test:race", handle=lambda rows: seen.extend((r.txid, r.id) for r in rows))

    assert len(committed) >= 8 * 15
    assert sorted(i for _, i in seen) == sorted(committed)       # nothing skipped, none twice
    assert seen == sorted(seen)                                  # in (txid, id) order
    assert FeedCursor.objects.get(name="test:race").rows_read == len(committed)


def test_a_new_cursor_starts_at_the_horizon_and_a_failed_batch_is_read_again():
    with transaction.atomic():
        before = _tag_change(1)
    feed_settle()
    cursor = feed_cursor_open(name="test:horizon", source="tag_changes")
    with connection.cursor() as c:
        c.execute("SELECT txid::text::bigint FROM members_tagchange WHERE id = %s", [before])
        assert cursor.last_txid > c.fetchone()[0]
    with transaction.atomic():
        after = _tag_change(2)
    # opening it again changes nothing; another source under the same name is refused
    assert feed_cursor_open(name="test:horizon", source="tag_changes").pk == cursor.pk
    with pytest.raises(ValueError):
        feed_cursor_open(name="test:horizon", source="orders")

    def fail(rows):
        assert _ids(rows) == [after]
        raise RuntimeError("the handler failed")

    feed_settle()
    with pytest.raises(RuntimeError):
        feed_consume(name="test:horizon", handle=fail)
    cursor.refresh_from_db()
    assert (cursor.last_id, cursor.rows_read) == (0, 0)
    got: list[int] = []
    assert feed_consume(name="test:horizon", handle=lambda rows: got.extend(_ids(rows))) == 1
    assert got == [after] and before not in got
    assert feed_consume(name="test:horizon", handle=lambda rows: got.extend(_ids(rows))) == 0
    cursor.refresh_from_db()
    assert (cursor.last_id, cursor.rows_read) == (after, 1)


def test_a_second_consumer_of_the_same_cursor_skips_while_the_first_holds_it():
    feed_cursor_open(name="test:busy", source="tag_changes", from_start=True)
    with transaction.atomic():
        row = _tag_change(1)
    feed_settle()
    inside, release = threading.Event(), threading.Event()
    first: list[int] = []

    def slow(rows):
        first.extend(_ids(rows))
        inside.set()
        assert release.wait(30)

    def consume() -> None:
        try:
            feed_consume(name="test:busy", handle=slow)
        finally:
            connection.close()

    thread = threading.Thread(target=consume)
    thread.start()
    assert inside.wait(30)
    second: list[int] = []
    assert feed_consume(name="test:busy", handle=lambda rows: second.extend(_ids(rows))) == 0
    release.set()
    thread.join(30)
    assert first == [row] and second == []
    with pytest.raises(ValueError):
        feed_consume(name="test:nobody", handle=lambda rows: None)


# --- one test per history table ----------------------------------------------------------

def _register(n: int, **fields):
    return register_member(data=MemberInput(mobile=f"1390000{n:04d}", name=f"会员{n}", **fields),
                           now=timezone.now()).member


def _sale(store, member, order_no: str, amount: str = "120.00"):
    now = timezone.now()
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-1", category="tea", quantity=1,
                         gross_amount=Decimal(amount)),)), now=now).order


@pytest.fixture
def at_start():
    return feed_horizon()


def _rows(source: str, after: FeedPosition):
    return settled_read(source, after)


def test_members_feed_holds_registrations(at_start):
    member = _register(1, source_channel="mini_program")
    rows = _rows("members", at_start)
    assert [(r.id, r.member_id, r.values["source_channel"]) for r in rows] == \
        [(member.pk, member.pk, "mini_program")]
    # a later update of the member row keeps the txid of its insert: not in the feed again
    after = rows[-1].position
    member.name = "改名"
    member.save(update_fields=["name"])
    assert _rows("members", after) == []


def test_orders_feed_holds_sales_and_returns(at_start, store, now):
    member = _register(2)
    sale = _sale(store, member, "F-1")
    rows = _rows("orders", at_start)
    assert [(r.id, r.member_id, r.values["kind"], r.values["net_amount"]) for r in rows] == \
        [(sale.pk, member.pk, "sale", Decimal("120.00"))]


def test_tag_changes_feed_holds_tag_history(at_start):
    member = _register(3)
    tag = Tag.objects.create(code="vip-feed", name="VIP")
    after = _rows("tag_changes", at_start)
    after = after[-1].position if after else at_start   # registration may set system tags
    member_tags_add(tag_id=tag.pk, member_ids=[member.pk], cause="manual")
    rows = _rows("tag_changes", after)
    assert [(r.member_id, r.values["tag_id"], r.values["action"]) for r in rows] == \
        [(member.pk, tag.pk, "added")]


def test_tier_changes_feed_holds_tier_changes(at_start, store):
    member = _register(4)
    _sale(store, member, "F-4")                      # the first purchase: Bronze
    rows = _rows("tier_changes", at_start)
    assert [r.member_id for r in rows] and {r.member_id for r in rows} == {member.pk}
    assert rows[-1].values["to_tier_id"] is not None
    assert [r.txid for r in rows] == sorted(r.txid for r in rows)


def test_paid_purchases_feed_holds_purchases(at_start, now):
    member = _register(5)
    PaidPlan.objects.create(code="annual", name="年卡", duration_months=12,
                            price=Decimal("199.00"))
    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-1",
                  amount=Decimal("199.00"), channel="api", now=now)
    rows = _rows("paid_purchases", at_start)
    assert [(r.member_id, r.values["kind"]) for r in rows] == [(member.pk, "new")]


def test_points_lots_feed_holds_lots(at_start, store):
    member = _register(6)
    sale = _sale(store, member, "F-6")
    rows = [r for r in _rows("points_lots", at_start) if r.values["order_id"] == sale.pk]
    assert len(rows) == 1 and rows[0].member_id == member.pk and rows[0].values["original"] > 0


# rows that enter the feed on a later change, not on insert: the change sets the txid
SET_ON_CHANGE = {"campaigns_campaignmember"}  # when acted on (campaigns.services.act)


def test_every_source_has_its_column_default_and_index():
    with connection.cursor() as cursor:
        for source in SOURCES.values():
            cursor.execute("""SELECT data_type, column_default FROM information_schema.columns
                               WHERE table_name = %s AND column_name = 'txid'""", [source.table])
            default = None if source.table in SET_ON_CHANGE else "pg_current_xact_id()"
            assert cursor.fetchone() == ("xid8", default), source.table
            cursor.execute("""SELECT indexdef FROM pg_indexes WHERE tablename = %s
                               AND indexdef LIKE '%%(txid, id)%%'""", [source.table])
            assert cursor.fetchone() is not None, source.table
    assert set(SOURCES) == {"members", "orders", "tag_changes", "tier_changes",
                            "paid_purchases", "points_lots", "points_entries",
                            "coupon_events", "member_changes", "expiry_notices",
                            "redemption_changes", "benefit_grants", "paid_lapses",
                            "campaign_actions", "checkins"}
