"""Each points entry carries the SHA-256 of its content and of the member's previous entry;
the account keeps the last one (core.chain, points.chain). The entries already in the
ledger are chained here from each member's genesis, in id order, with the append-only
guard lifted for this one block of this connection (pgtrigger.ignore). The chain's columns
are written out below as they are at this migration, so a later change to the chain cannot
change what this migration does."""

import pgtrigger
from django.db import migrations, models

from core.chain import Chain

CHAIN_AT_0019 = Chain(
    ledger="points", table="points_pointsentry", account="member_id",
    head_table="points_pointsaccount",
    fields=(("member_id", "int"), ("kind", "text"), ("available_delta", "int"),
            ("pending_delta", "int"), ("held_delta", "int"), ("debt_delta", "int"),
            ("order_id", "int"), ("lot_id", "int"), ("source_key", "text"), ("reason", "text"),
            ("operator_id", "int"), ("note_id", "int"), ("store_id", "int"),
            ("actor_user_id", "int"), ("actor_api_key_id", "int"), ("created_at", "time")),
)


def chain_existing_entries(apps, schema_editor):
    with pgtrigger.ignore("points.PointsEntry:append_only"), \
            schema_editor.connection.cursor() as cursor:
        CHAIN_AT_0019.rechain(cursor)


class Migration(migrations.Migration):

    dependencies = [
        ('points', '0018_coupon_event_feed_txid'),
    ]

    operations = [
        migrations.AddField(
            model_name='pointsaccount',
            name='chain_head',
            field=models.BinaryField(blank=True, editable=False, help_text="The hash of the member's last entry.", null=True, verbose_name='chain head'),
        ),
        migrations.AddField(
            model_name='pointsentry',
            name='hash',
            field=models.BinaryField(blank=True, editable=False, help_text="SHA-256 of this entry and the member's previous one (points.chain).", null=True, verbose_name='hash'),
        ),
        migrations.RunPython(chain_existing_entries, migrations.RunPython.noop),
    ]
