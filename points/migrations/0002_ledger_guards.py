"""The ledger is append-only in PostgreSQL itself: UPDATE and DELETE of an entry fail.
TRUNCATE stays possible (test fixtures reset tables with it)."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION points_entry_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'points entries are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER points_entry_append_only
BEFORE UPDATE OR DELETE ON points_pointsentry
FOR EACH ROW EXECUTE FUNCTION points_entry_is_append_only();
"""

ALLOW = """
DROP TRIGGER IF EXISTS points_entry_append_only ON points_pointsentry;
DROP FUNCTION IF EXISTS points_entry_is_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
