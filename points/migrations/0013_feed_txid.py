"""The commit-ordered feed: a `txid xid8` column on points lots, defaulting to the inserting
transaction's id, and an index the feed reader walks in (txid, id) order.

The column is added without a default (a catalogue change only, no rewrite of a large
table), then given its default in a separate statement: rows written before this
migration keep NULL and are not in the feed. The index is partial (only rows that have a
txid) and built concurrently, so existing sales are not blocked while it builds. The model
classes do not declare the column: only the feed reader (campaigns) reads it, in SQL."""

from django.db import migrations

TABLES = {
    "points_pointslot": "points_lot_feed_idx",
}


def _forward(table: str, index: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS txid xid8",
        f"ALTER TABLE {table} ALTER COLUMN txid SET DEFAULT pg_current_xact_id()",
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} (txid, id) "
        f"WHERE txid IS NOT NULL",
    ]


def _backward(table: str, index: str) -> list[str]:
    return [f"DROP INDEX CONCURRENTLY IF EXISTS {index}",
            f"ALTER TABLE {table} DROP COLUMN IF EXISTS txid"]


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    atomic = False

    dependencies = [
        ("points", "0012_typed_text_off_spends_and_voids"),
    ]

    operations = [
        migrations.RunSQL(_forward(table, index), _backward(table, index), state_operations=[])
        for table, index in TABLES.items()
    ]
