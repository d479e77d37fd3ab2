"""The commit-ordered feed reads coupon events too (webhooks: coupon issued, redeemed,
expired, restored): `points_couponevent` gets the `txid xid8` column the way points 0013 and
0017 add it — no default first (no rewrite), then the default, a partial (txid, id) index
built concurrently. Events written before this migration are not in the feed."""

from django.db import migrations

TABLE, INDEX = "points_couponevent", "points_coupon_event_feed_idx"


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    atomic = False

    dependencies = [
        ("points", "0017_entry_feed_txid"),
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
