"""Paid membership lapses: an append-only row per lapse, written with the status change by the
daily job, in the commit-ordered feed (webhooks: paid membership lapsed)."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0017_member_changes'),
        ('tiers', '0010_append_only_declared'),
    ]

    operations = [
        migrations.CreateModel(
            name='PaidLapse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ended_at', models.DateTimeField(verbose_name='paid until')),
                ('created_at', models.DateTimeField(verbose_name='lapsed at')),
                ('member', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member')),
                ('plan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tiers.paidplan', verbose_name='plan')),
            ],
            options={
                'verbose_name': 'paid membership lapse',
                'verbose_name_plural': 'paid membership lapses',
                'constraints': [models.UniqueConstraint(fields=('member', 'ended_at'), name='paid_lapse_once')],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='paidlapse',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='e305c9080f9b7eefa486d0843e8daf1aa934bfdc', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_06b6b', table='tiers_paidlapse', when='BEFORE')),
        ),
        migrations.RunSQL(['ALTER TABLE tiers_paidlapse ADD COLUMN txid xid8', 'ALTER TABLE tiers_paidlapse ALTER COLUMN txid SET DEFAULT pg_current_xact_id()', 'CREATE INDEX paid_lapse_feed_idx ON tiers_paidlapse (txid, id) WHERE txid IS NOT NULL'],
                          ['DROP INDEX IF EXISTS paid_lapse_feed_idx', 'ALTER TABLE tiers_paidlapse DROP COLUMN IF EXISTS txid'],
                          state_operations=[]),
    ]
