"""Append-only tables refuse UPDATE and DELETE in PostgreSQL itself. Each such model declares
`core.models.append_only()` in its Meta.triggers (django-pgtrigger); the tests find them by
that declaration, write a row into each and check that PostgreSQL refuses to change or delete
it — on a database migrated from empty, and on one migrated from the schema before the
declared triggers replaced the hand-written ones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pgtrigger
import pytest
from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.executor import MigrationExecutor

from core.models import AppendOnly

# the tables that had hand-written guards before the declared triggers replaced them
HAND_GUARDED = {
    "members.AccessEvent",
    "points.PointsEntry", "points.PointsLotMovement", "points.CouponEvent",
    "tiers.GrowthEntry", "tiers.TierChange", "tiers.PaidPurchase", "tiers.BenefitUse",
    "tiers.MultiplierBonus",
}
# and the histories added since, declared from the start
APPEND_ONLY = HAND_GUARDED | {
    "members.MemberChange", "members.ConsentChange", "points.ExpiryNotice",
    "points.RedemptionChange", "points.PointsTransfer", "tiers.PaidLapse", "tiers.ManualTier",
    "points.StoredValueEntry", "points.StoredValueBonusMovement", "points.GiftCardEntry",
    "points.OrderTender", "campaigns.CheckIn", "campaigns.LotteryDraw",
    "campaigns.LotteryEntryGrant", "campaigns.TaskCompletion",
}

# the hand-written guards the declared triggers replaced
OLD_FUNCTIONS = {"points_entry_is_append_only", "points_coupon_event_is_append_only",
                 "points_lot_movement_is_append_only", "tiers_is_append_only",
                 "members_access_event_is_append_only"}
OLD_TRIGGERS = {"points_entry_append_only", "points_coupon_event_append_only",
                "points_lot_movement_append_only", "growth_entry_append_only",
                "tier_change_append_only", "paid_purchase_append_only",
                "benefit_use_append_only", "multiplier_bonus_append_only",
                "access_event_append_only"}

BEFORE = [("members", "0015_typed_text_and_tag_import_jobs"),
          ("points", "0015_typed_text_refuses_control_characters"),
          ("tiers", "0009_typed_text_refuses_control_characters")]


def append_only_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models()
            if any(isinstance(t, AppendOnly) for t in getattr(model._meta, "triggers", []))]


def a_row(model: type[models.Model]) -> int:
    """Inserts one row of any model: nullable columns empty, every other one a plausible
    value (foreign keys point at ids 1, 2, …, one each — Django's foreign keys are checked at
    commit, and the caller rolls back first —, so a check that two of them differ holds).
    Dates follow field order, so a start comes before its end."""
    base = datetime(2026, 3, 14, 2, 0, tzinfo=timezone.utc)
    values = {}
    relations = 0
    for i, field in enumerate(model._meta.concrete_fields):
        if field.primary_key or field.null:
            continue
        if field.is_relation:
            relations += 1
            values[field.attname] = relations
        elif field.choices:
            values[field.attname] = field.choices[0][0]
        elif isinstance(field, models.DateTimeField):
            values[field.attname] = base + timedelta(days=i)
        elif isinstance(field, models.DateField):
            values[field.attname] = (base + timedelta(days=i)).date()
        elif isinstance(field, ArrayField):
            values[field.attname] = []
        elif isinstance(field, models.DecimalField):
            values[field.attname] = Decimal("1")
        elif isinstance(field, (models.IntegerField, models.BigIntegerField)):
            values[field.attname] = 1
        elif isinstance(field, models.BooleanField):
            values[field.attname] = False
        else:
            values[field.attname] = "x"
    # only these columns: the row is also written in an earlier schema, which lacks
    # nullable columns added since (a points entry's hash)
    columns = [model._meta.get_field(name).column for name in values]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
                       f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING id",
                       list(values.values()))
        return cursor.fetchone()[0]


def refused(statement: str, pk: int) -> str:
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement, [pk])
    return str(error.value)


def assert_refused(model: type[models.Model]) -> None:
    """UPDATE and DELETE of a row fail with the append-only error; the row stays."""
    table = model._meta.db_table
    with transaction.atomic():
        pk = a_row(model)
        for statement in (f"UPDATE {table} SET id = id WHERE id = %s",  # noqa: S608
                          f"DELETE FROM {table} WHERE id = %s"):  # noqa: S608
            assert "append-only" in refused(statement, pk), statement
        assert model.objects.filter(pk=pk).exists()
        transaction.set_rollback(True)  # the row's made-up foreign keys are never checked


def guards_in_database() -> tuple[set[str], set[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname = ANY(%s)",
                       [sorted(OLD_FUNCTIONS)])
        functions = {name for (name,) in cursor.fetchall()}
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)",
                       [sorted(OLD_TRIGGERS)])
        triggers = {name for (name,) in cursor.fetchall()}
    return functions, triggers


def assert_declared_guards_in_place() -> None:
    for model in append_only_models():
        for trigger in model._meta.triggers:
            status, enabled = trigger.get_installation_status(model)
            assert (status, enabled) == ("INSTALLED", True), model._meta.label
        assert_refused(model)
    assert guards_in_database() == (set(), set())  # no hand-written guard left behind


def test_every_append_only_model_is_declared():
    assert {m._meta.label for m in append_only_models()} == APPEND_ONLY


@pytest.mark.django_db
def test_every_append_only_table_refuses_update_and_delete():
    assert_declared_guards_in_place()


@pytest.mark.django_db
def test_the_guard_is_lifted_only_inside_ignore():
    model = apps.get_model("tiers", "GrowthEntry")
    with transaction.atomic():
        pk = a_row(model)
        with pgtrigger.ignore("tiers.GrowthEntry:append_only"):
            model.objects.filter(pk=pk).update(reason="y")
        assert refused("DELETE FROM tiers_growthentry WHERE id = %s", pk)
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_migrating_from_the_hand_written_guards_keeps_every_table_append_only():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        assert guards_in_database() == (OLD_FUNCTIONS, OLD_TRIGGERS)
        for model in append_only_models():
            if model._meta.label in HAND_GUARDED:  # the others do not exist yet
                assert_refused(model)  # by the hand-written guards
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())  # every app back to its latest
    assert_declared_guards_in_place()
