"""Per-lot movements and points payments.

Every entry that moves points in or out of lots records them lot by lot in
`points_pointslotmovement` (append-only, like the entries). What the ledger held before is
carried over: the parts of open holds become movements of their hold entries, and each lot
gets one row without an entry for what it holds plus what open holds took from it, so from
here on each lot equals the sum of its movements and `held` the sum of their held column.
`PointsHoldLot` is then dropped: the hold entries' movements say the same.

Points payments link the spend or the captured hold that paid part of a sale to the sale;
coupons may be restored (a full return) and redeemed again.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION points_lot_movement_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lot movements are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER points_lot_movement_append_only
BEFORE UPDATE OR DELETE ON points_pointslotmovement
FOR EACH ROW EXECUTE FUNCTION points_lot_movement_is_append_only();
"""

ALLOW = """
DROP TRIGGER IF EXISTS points_lot_movement_append_only ON points_pointslotmovement;
DROP FUNCTION IF EXISTS points_lot_movement_is_append_only();
"""

CARRY_OVER = """
INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held, created_at)
SELECT e.id, hl.lot_id, h.member_id, -hl.points, hl.points, e.created_at
FROM points_pointsholdlot hl
JOIN points_pointshold h ON h.id = hl.hold_id AND h.state = 'held'
JOIN points_pointsentry e ON e.source_key = 'hold:' || h.id;

INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held, created_at)
SELECT NULL, l.id, l.member_id, l.remaining + COALESCE(o.held, 0), 0, now()
FROM points_pointslot l
LEFT JOIN (SELECT hl.lot_id, SUM(hl.points) AS held
           FROM points_pointsholdlot hl
           JOIN points_pointshold h ON h.id = hl.hold_id AND h.state = 'held'
           GROUP BY hl.lot_id) o ON o.lot_id = l.id
WHERE l.remaining + COALESCE(o.held, 0) <> 0;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0010_order_actor'),
        ('points', '0010_adjustment_reason_codes_and_notes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PointsLotMovement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('points', models.BigIntegerField(default=0, verbose_name='change to the lot')),
                ('held', models.BigIntegerField(default=0, verbose_name='change to points held')),
                ('created_at', models.DateTimeField(verbose_name='time')),
            ],
            options={
                'verbose_name': 'lot movement',
                'verbose_name_plural': 'lot movements',
            },
        ),
        migrations.CreateModel(
            name='PointsPayment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('spend', 'Spend'), ('hold', 'Captured hold')], max_length=8, verbose_name='kind')),
                ('reference', models.CharField(blank=True, help_text="A spend's Idempotency-Key.", max_length=255, verbose_name='reference')),
                ('points', models.BigIntegerField(verbose_name='points')),
                ('points_per_yuan', models.PositiveIntegerField(verbose_name='points worth one yuan')),
                ('created_at', models.DateTimeField(verbose_name='time')),
                ('linked_at', models.DateTimeField(blank=True, null=True, verbose_name='linked at')),
            ],
            options={
                'verbose_name': 'points payment',
                'verbose_name_plural': 'points payments',
            },
        ),
        migrations.RemoveConstraint(
            model_name='couponevent',
            name='coupon_event_once_per_kind',
        ),
        migrations.AlterField(
            model_name='couponevent',
            name='kind',
            field=models.CharField(choices=[('issued', 'Issued'), ('redeemed', 'Redeemed'), ('voided', 'Voided'), ('expired', 'Expired'), ('restored', 'Restored')], max_length=10, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='pointsentry',
            name='kind',
            field=models.CharField(choices=[('earn', 'Earn'), ('spend', 'Spend'), ('expire', 'Expire'), ('reverse', 'Reverse'), ('adjust', 'Adjustment'), ('unlock', 'Unlock'), ('refund', 'Refund'), ('hold', 'Hold'), ('capture', 'Capture'), ('release', 'Release')], max_length=8, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='couponevent',
            constraint=models.UniqueConstraint(condition=models.Q(('kind__in', ['issued', 'voided', 'expired'])), fields=('coupon', 'kind'), name='coupon_event_once_per_kind'),
        ),
        migrations.AddField(
            model_name='pointslotmovement',
            name='entry',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='lot_movements', to='points.pointsentry', verbose_name='entry'),
        ),
        migrations.AddField(
            model_name='pointslotmovement',
            name='lot',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='movements', to='points.pointslot', verbose_name='lot'),
        ),
        migrations.AddField(
            model_name='pointslotmovement',
            name='member',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member'),
        ),
        migrations.AddField(
            model_name='pointspayment',
            name='entry',
            field=models.OneToOneField(help_text='The spend or the capture that took the points.', on_delete=django.db.models.deletion.PROTECT, related_name='payment', to='points.pointsentry', verbose_name='entry'),
        ),
        migrations.AddField(
            model_name='pointspayment',
            name='hold',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payment', to='points.pointshold', verbose_name='hold'),
        ),
        migrations.AddField(
            model_name='pointspayment',
            name='member',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member', verbose_name='member'),
        ),
        migrations.AddField(
            model_name='pointspayment',
            name='order',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='points_payment', to='members.order', verbose_name='sale paid'),
        ),
        migrations.AddField(
            model_name='pointspayment',
            name='owner',
            field=models.ForeignKey(blank=True, help_text='The integrator whose API key took the points.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
        migrations.AddIndex(
            model_name='pointslotmovement',
            index=models.Index(fields=['lot', 'id'], name='points_lot_movement_lot_idx'),
        ),
        migrations.AddIndex(
            model_name='pointslotmovement',
            index=models.Index(fields=['member', 'id'], name='points_lot_movement_member_idx'),
        ),
        migrations.AddConstraint(
            model_name='pointslotmovement',
            constraint=models.UniqueConstraint(fields=('entry', 'lot'), name='points_lot_movement_once'),
        ),
        migrations.AddConstraint(
            model_name='pointslotmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('points', 0), _negated=True), models.Q(('held', 0), _negated=True), _connector='OR'), name='points_lot_movement_moves'),
        ),
        migrations.AddConstraint(
            model_name='pointspayment',
            constraint=models.CheckConstraint(condition=models.Q(('points__gt', 0)), name='points_payment_positive'),
        ),
        migrations.AddConstraint(
            model_name='pointspayment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('hold__isnull', False), ('kind', 'hold')), models.Q(('hold__isnull', True), ('kind', 'spend')), _connector='OR'), name='points_payment_hold_iff_kind'),
        ),
        migrations.AddConstraint(
            model_name='pointspayment',
            constraint=models.CheckConstraint(condition=models.Q(('order__isnull', True), ('linked_at__isnull', False), _connector='OR'), name='points_payment_linked_has_time'),
        ),
        migrations.AddConstraint(
            model_name='pointspayment',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'spend'), models.Q(('reference', ''), _negated=True)), fields=('owner', 'member', 'reference'), name='points_payment_spend_key', nulls_distinct=False),
        ),
        migrations.RunSQL(APPEND_ONLY, ALLOW),
        migrations.RunSQL(CARRY_OVER, migrations.RunSQL.noop),
        migrations.DeleteModel(
            name='PointsHoldLot',
        ),
    ]
