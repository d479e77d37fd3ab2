"""Migration points 0010 moves the typed reasons of earlier adjustments off the append-only
ledger into member notes, leaving a reason code, and puts the ledger's guard back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("points", "0009_actor_columns_on_ledger")]


@pytest.mark.django_db(transaction=True)
def test_typed_reasons_move_to_notes(member, django_user_model):
    operator = django_user_model.objects.create_user("op")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("""
                INSERT INTO points_pointsentry (member_id, kind, available_delta,
                    pending_delta, held_delta, debt_delta, reason, operator_id, created_at)
                VALUES (%s, 'adjust', 10, 0, 0, 0, '会员投诉了店员', %s, now()),
                       (%s, 'earn', 5, 0, 0, 0, 'sale', NULL, now())
                RETURNING id""", [member.pk, operator.pk, member.pk])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())  # every app back to its latest
    with connection.cursor() as cursor:
        cursor.execute("""SELECT e.kind, e.reason, n.text, n.created_by_id, n.member_id
                          FROM points_pointsentry e
                          LEFT JOIN members_membernote n ON n.id = e.note_id ORDER BY e.id""")
        rows = cursor.fetchall()
        assert rows == [("adjust", "other", "会员投诉了店员", operator.pk, member.pk),
                        ("earn", "sale", None, None, None)]
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("UPDATE points_pointsentry SET reason = 'x'")
