"""No typed text on append-only rows: what an integrator typed on a spend, an operator on a
cancelled redemption and anyone on a voided coupon moves into member notes the rows point at
(erasure blanks a note and leaves the ledger whole); the rows keep the system's label."""

import django.db.models.deletion
from django.db import migrations, models

# Set-based (a spend reason may be on millions of rows): note ids are drawn first, so each
# row knows its note, then the notes are written and the rows pointed at them. The guards of
# the two append-only tables let this one transaction through and are put back before
# commit (catalog changes are transactional: no other session sees them lifted).
GUARDS = """
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
"""

MOVE_TEXT = """
SET CONSTRAINTS ALL IMMEDIATE;
CREATE OR REPLACE FUNCTION points_entry_is_append_only() RETURNS trigger AS $$
BEGIN RETURN NEW; END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION points_coupon_event_is_append_only() RETURNS trigger AS $$
BEGIN RETURN NEW; END;
$$ LANGUAGE plpgsql;

CREATE TEMP TABLE typed_text ON COMMIT DROP AS
SELECT 'entry' AS tbl, e.id AS row_id, e.member_id, e.actor_user_id, e.created_at,
       CASE WHEN e.kind = 'refund' THEN substr(e.reason, length('reward cancelled: ') + 1)
            ELSE e.reason END AS text,
       CASE WHEN e.kind = 'refund' THEN 'reward cancelled' ELSE '' END AS label
FROM points_pointsentry e
WHERE e.note_id IS NULL AND (
      (e.kind = 'spend' AND e.reason <> ''
       AND e.reason !~ '^(order |partner |reward [0-9]+: )')
   OR (e.kind = 'refund' AND e.reason LIKE 'reward cancelled: %'))
UNION ALL
SELECT 'coupon', c.id, c.member_id, c.actor_user_id, c.created_at, c.reason, ''
FROM points_couponevent c
WHERE c.kind = 'voided' AND c.note_id IS NULL AND c.reason <> '';

ALTER TABLE typed_text ADD COLUMN note_id bigint;
UPDATE typed_text SET note_id = nextval(pg_get_serial_sequence('members_membernote', 'id'));

INSERT INTO members_membernote (id, member_id, text, created_by_id, created_at)
SELECT note_id, member_id, left(text, 500), actor_user_id, created_at FROM typed_text;

UPDATE points_pointsentry e SET note_id = t.note_id, reason = t.label
FROM typed_text t WHERE t.tbl = 'entry' AND e.id = t.row_id;
UPDATE points_couponevent c SET note_id = t.note_id, reason = t.label
FROM typed_text t WHERE t.tbl = 'coupon' AND c.id = t.row_id;
""" + GUARDS


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0011_member_note_without_member'),
        ('points', '0011_lot_movements_and_payments'),
    ]

    operations = [
        migrations.AddField(
            model_name='couponevent',
            name='note',
            field=models.ForeignKey(blank=True, db_index=False, help_text='What the person who voided the coupon wrote; erasure blanks it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.membernote', verbose_name='note'),
        ),
        migrations.RunSQL(MOVE_TEXT, migrations.RunSQL.noop),
    ]
