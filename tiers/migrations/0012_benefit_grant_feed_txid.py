"""Benefit grants enter the commit-ordered feed when they are inserted (webhooks: benefit
granted): the `txid xid8` column the way tiers 0008 adds it — no default first (no rewrite),
then the default, a partial (txid, id) index built concurrently. Grants written before this
migration are not in the feed; later changes of a grant keep the txid of its insert."""

from django.db import migrations

TABLE, INDEX = "tiers_benefitgrant", "benefit_grant_feed_idx"


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    atomic = False

    dependencies = [
        ("tiers", "0011_paid_lapses"),
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
