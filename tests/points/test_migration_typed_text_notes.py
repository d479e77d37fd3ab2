"""Migration points 0012 moves what people typed on spends, cancelled redemptions and voided
coupons off the append-only rows into member notes, keeps the system's labels on the rows,
and puts both tables' guards back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from points.models import Coupon
from tests.points.catalog_helpers import make_template

BEFORE = [("points", "0011_lot_movements_and_payments"),
          ("members", "0010_order_actor")]


@pytest.mark.django_db(transaction=True)
def test_typed_text_moves_to_notes(member, django_user_model, now):
    clerk = django_user_model.objects.create_user("clerk")
    template = make_template(now)
    ids = [Coupon.objects.create(template=template, code=code, state="voided",
                                 member=owner, created_at=now).pk for code, owner in (("A-1", member),
                                                                     ("P-1", None))]
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("""
                INSERT INTO points_pointsentry (member_id, kind, available_delta,
                    pending_delta, held_delta, debt_delta, reason, actor_user_id, created_at)
                VALUES (%(m)s, 'spend', -5, 0, 0, 0, '兑换咖啡', %(u)s, now()),
                       (%(m)s, 'spend', -5, 0, 0, 0, 'order W-1', NULL, now()),
                       (%(m)s, 'spend', -5, 0, 0, 0, 'reward 3: 帆布袋', NULL, now()),
                       (%(m)s, 'spend', -5, 0, 0, 0, 'partner AIR', NULL, now()),
                       (%(m)s, 'refund', 5, 0, 0, 0, 'reward cancelled: 太慢了', %(u)s, now()),
                       (%(m)s, 'earn', 5, 0, 0, 0, 'sale', NULL, now())""",
                           {"m": member.pk, "u": clerk.pk})
            cursor.execute("""
                INSERT INTO points_couponevent (coupon_id, member_id, kind, order_no, reason,
                    created_at)
                VALUES (%(a)s, %(m)s, 'issued', '', '', now()),
                       (%(a)s, %(m)s, 'voided', '', '发错了', now()),
                       (%(p)s, NULL, 'voided', '', '批次作废', now())""",
                           {"a": ids[0], "p": ids[1], "m": member.pk})
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())  # every app back to its latest
    with connection.cursor() as cursor:
        cursor.execute("""SELECT e.kind, e.reason, n.text, n.created_by_id, n.member_id
                          FROM points_pointsentry e
                          LEFT JOIN members_membernote n ON n.id = e.note_id ORDER BY e.id""")
        assert cursor.fetchall() == [
            ("spend", "", "兑换咖啡", clerk.pk, member.pk),
            ("spend", "order W-1", None, None, None),
            ("spend", "reward 3: 帆布袋", None, None, None),
            ("spend", "partner AIR", None, None, None),
            ("refund", "reward cancelled", "太慢了", clerk.pk, member.pk),
            ("earn", "sale", None, None, None),
        ]
        cursor.execute("""SELECT c.kind, c.reason, n.text, n.member_id
                          FROM points_couponevent c
                          LEFT JOIN members_membernote n ON n.id = c.note_id ORDER BY c.id""")
        assert cursor.fetchall() == [("issued", "", None, None),
                                     ("voided", "", "发错了", member.pk),
                                     ("voided", "", "批次作废", None)]
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("UPDATE points_pointsentry SET reason = 'x'")
    with connection.cursor() as cursor, pytest.raises(Exception, match="append-only"):
        cursor.execute("UPDATE points_couponevent SET reason = 'x'")
