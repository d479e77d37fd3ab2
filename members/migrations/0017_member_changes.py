"""Member changes: an append-only history of profile updates (field names only) and status
changes, in the commit-ordered feed (a `txid xid8` column defaulting to the inserting
transaction, as members 0013) for the webhooks member updated and member closed."""

import django.contrib.postgres.fields
import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0016_append_only_declared'),
    ]

    operations = [
        migrations.CreateModel(
            name='MemberChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('updated', 'Profile updated'), ('frozen', 'Frozen'), ('active', 'Unfrozen'), ('closed', 'Closed')], max_length=8, verbose_name='kind')),
                ('fields', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=40), blank=True, default=list, size=None, verbose_name='fields changed')),
                ('created_at', models.DateTimeField(verbose_name='time')),
                ('member', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member')),
            ],
            options={
                'verbose_name': 'member change',
                'verbose_name_plural': 'member changes',
                'indexes': [models.Index(fields=['member', '-id'], name='member_change_member_idx')],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='memberchange',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='78b21483c95fa7db243a6ff5e02043e0e06504bd', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_8f232', table='members_memberchange', when='BEFORE')),
        ),
        migrations.RunSQL(['ALTER TABLE members_memberchange ADD COLUMN txid xid8', 'ALTER TABLE members_memberchange ALTER COLUMN txid SET DEFAULT pg_current_xact_id()', 'CREATE INDEX member_change_feed_idx ON members_memberchange (txid, id) WHERE txid IS NOT NULL'],
                          ['DROP INDEX IF EXISTS member_change_feed_idx', 'ALTER TABLE members_memberchange DROP COLUMN IF EXISTS txid'],
                          state_operations=[]),
    ]
