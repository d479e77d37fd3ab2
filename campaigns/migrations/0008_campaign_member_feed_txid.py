"""A campaign member enters the commit-ordered feed when it is acted on (webhooks: campaign
action applied): a `txid xid8` column with no default, set to the acting transaction's id by
the act step's UPDATE (acting happens once per row: `acted` is final), and a partial
(txid, id) index built concurrently. Rows acted on before this migration are not in the feed."""

from django.db import migrations

TABLE, INDEX = "campaigns_campaignmember", "campaign_member_feed_idx"


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    atomic = False

    dependencies = [
        ("campaigns", "0007_campaign_copied_from_play"),
    ]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS txid xid8",
             f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {TABLE} (txid, id) "
             f"WHERE txid IS NOT NULL"],
            [f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
             f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS txid"],
            state_operations=[]),
    ]
