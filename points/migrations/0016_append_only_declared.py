"""The append-only guards are declared on the models (`core.models.append_only()`,
django-pgtrigger): the triggers pgtrigger generates replace the ones written by hand in points
0002, 0004 and 0011, which are dropped with their functions. Going back puts those back as
they were."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# the hand-written guards, as the earlier migrations left them
HAND_WRITTEN = """
CREATE OR REPLACE FUNCTION points_entry_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'points entries are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION points_coupon_event_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'coupon events are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION points_lot_movement_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lot movements are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER points_entry_append_only
BEFORE UPDATE OR DELETE ON points_pointsentry
FOR EACH ROW EXECUTE FUNCTION points_entry_is_append_only();

CREATE TRIGGER points_coupon_event_append_only
BEFORE UPDATE OR DELETE ON points_couponevent
FOR EACH ROW EXECUTE FUNCTION points_coupon_event_is_append_only();

CREATE TRIGGER points_lot_movement_append_only
BEFORE UPDATE OR DELETE ON points_pointslotmovement
FOR EACH ROW EXECUTE FUNCTION points_lot_movement_is_append_only();
"""

DROP_HAND_WRITTEN = """
DROP TRIGGER points_entry_append_only ON points_pointsentry;
DROP TRIGGER points_coupon_event_append_only ON points_couponevent;
DROP TRIGGER points_lot_movement_append_only ON points_pointslotmovement;
DROP FUNCTION points_entry_is_append_only();
DROP FUNCTION points_coupon_event_is_append_only();
DROP FUNCTION points_lot_movement_is_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('points', '0015_typed_text_refuses_control_characters'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='couponevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='7cc68543d2c862c1651c02fcdb3baa46d6a0c5c0', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_294ea', table='points_couponevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='pointsentry',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='b60e3701ee2e595f33f1424f84db9d48c8c29c64', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_8510f', table='points_pointsentry', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='pointslotmovement',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='49740e2c9f597cc21af1f5554c970c46aacfb147', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_99fca', table='points_pointslotmovement', when='BEFORE')),
        ),
        migrations.RunSQL(DROP_HAND_WRITTEN, HAND_WRITTEN),
    ]
