"""Points expiry notices (one per member and Beijing day, written by the daily job) and the
redemptions' append-only step history, both in the commit-ordered feed (webhooks: points
expiring soon; reward redeemed, fulfilled, cancelled)."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0017_member_changes'),
        ('points', '0021_lot_indexes_for_past_days'),
    ]

    operations = [
        migrations.CreateModel(
            name='RedemptionChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step', models.CharField(choices=[('redeemed', 'Redeemed'), ('progressed', 'Moved on'), ('fulfilled', 'Fulfilled'), ('cancelled', 'Cancelled')], max_length=10, verbose_name='step')),
                ('state', models.CharField(choices=[('ordered', 'Ordered'), ('ready', 'Ready for pickup'), ('shipped', 'Shipped'), ('delivered', 'Delivered'), ('cancelled', 'Cancelled')], max_length=10, verbose_name='state')),
                ('created_at', models.DateTimeField(verbose_name='time')),
                ('member', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member')),
                ('redemption', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='points.rewardredemption', verbose_name='redemption')),
            ],
            options={
                'verbose_name': 'redemption change',
                'verbose_name_plural': 'redemption changes',
            },
        ),
        migrations.CreateModel(
            name='ExpiryNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('expires_on', models.DateField(verbose_name='expires on')),
                ('points', models.BigIntegerField(verbose_name='points expiring')),
                ('created_at', models.DateTimeField(verbose_name='noticed at')),
                ('member', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member')),
            ],
            options={
                'verbose_name': 'points expiry notice',
                'verbose_name_plural': 'points expiry notices',
                'constraints': [models.UniqueConstraint(fields=('member', 'expires_on'), name='expiry_notice_once'), models.CheckConstraint(condition=models.Q(('points__gt', 0)), name='expiry_notice_points')],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='expirynotice',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='d0e30bc914295499696e33fcae7b6484c416cae0', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_513ba', table='points_expirynotice', when='BEFORE')),
        ),
        migrations.AddIndex(
            model_name='redemptionchange',
            index=models.Index(fields=['redemption', 'id'], name='redemption_change_idx'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='redemptionchange',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='f7050626581de45ebb7cbdd78771386c0997581b', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_2df63', table='points_redemptionchange', when='BEFORE')),
        ),
        migrations.RunSQL(['ALTER TABLE points_expirynotice ADD COLUMN txid xid8', 'ALTER TABLE points_expirynotice ALTER COLUMN txid SET DEFAULT pg_current_xact_id()', 'CREATE INDEX expiry_notice_feed_idx ON points_expirynotice (txid, id) WHERE txid IS NOT NULL'],
                          ['DROP INDEX IF EXISTS expiry_notice_feed_idx', 'ALTER TABLE points_expirynotice DROP COLUMN IF EXISTS txid'],
                          state_operations=[]),
        migrations.RunSQL(['ALTER TABLE points_redemptionchange ADD COLUMN txid xid8', 'ALTER TABLE points_redemptionchange ALTER COLUMN txid SET DEFAULT pg_current_xact_id()', 'CREATE INDEX redemption_change_feed_idx ON points_redemptionchange (txid, id) WHERE txid IS NOT NULL'],
                          ['DROP INDEX IF EXISTS redemption_change_feed_idx', 'ALTER TABLE points_redemptionchange DROP COLUMN IF EXISTS txid'],
                          state_operations=[]),
    ]
