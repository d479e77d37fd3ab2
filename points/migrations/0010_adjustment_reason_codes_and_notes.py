"""No typed text on the ledger: an adjustment carries a reason code and points at a member
note (which erasure can blank); the free-text reasons of earlier adjustments move there."""

import django.db.models.deletion
from django.db import migrations, models

# Adjustments are made by people, a few a day: a loop is fine. The ledger is append-only;
# its guard lets this one transaction through (other sessions never see the lifted guard,
# catalog changes being transactional) and is put back before commit.
GUARD = """
CREATE OR REPLACE FUNCTION points_entry_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'points entries are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""

MOVE_REASONS = """
SET CONSTRAINTS ALL IMMEDIATE;
CREATE OR REPLACE FUNCTION points_entry_is_append_only() RETURNS trigger AS $$
BEGIN
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DO $$
DECLARE
    e record;
    new_note bigint;
BEGIN
    FOR e IN SELECT id, member_id, reason, operator_id, created_at FROM points_pointsentry
             WHERE kind = 'adjust' AND note_id IS NULL ORDER BY id
    LOOP
        INSERT INTO members_membernote (member_id, text, created_by_id, created_at)
        VALUES (e.member_id, e.reason, e.operator_id, e.created_at)
        RETURNING id INTO new_note;
        UPDATE points_pointsentry SET note_id = new_note, reason = 'other' WHERE id = e.id;
    END LOOP;
END $$;
""" + GUARD


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0009_staff_stores_access_events_notes'),
        ('points', '0009_actor_columns_on_ledger'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='pointsentry',
            name='points_adjustment_has_operator_and_reason',
        ),
        migrations.AddField(
            model_name='pointsentry',
            name='note',
            field=models.ForeignKey(blank=True, db_index=False, help_text='What the person who made an adjustment wrote; erasure blanks it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.membernote', verbose_name='note'),
        ),
        migrations.RunSQL(MOVE_REASONS, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='pointsentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'adjust'), _negated=True), models.Q(('operator__isnull', False), models.Q(('reason', ''), _negated=True), ('note__isnull', False)), _connector='OR'), name='points_adjustment_has_operator_reason_and_note'),
        ),
    ]
