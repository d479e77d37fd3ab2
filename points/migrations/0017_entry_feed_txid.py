"""The commit-ordered feed reads the points ledger too (webhooks: points earned, spent,
expired, reversed): `points_pointsentry` gets the same `txid xid8` column as the other
history tables (points 0013): added without a default (no rewrite of the ledger), then
given the default, and a partial (txid, id) index built concurrently. Entries written before
this migration have no txid and are not in the feed."""

from django.db import migrations

TABLE, INDEX = "points_pointsentry", "points_entry_feed_idx"


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    atomic = False

    dependencies = [
        ("points", "0016_append_only_declared"),
    ]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS txid xid8",
             f"ALTER TABLE {TABLE} ALTER COLUMN txid SET DEFAULT pg_current_xact_id()",
             f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {TABLE} (txid, id) "
             f"WHERE txid IS NOT NULL"],
            [f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
             f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS txid"],
            state_operations=[]),
    ]
