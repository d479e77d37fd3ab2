"""Growth entries and tier changes are append-only in PostgreSQL itself: UPDATE and DELETE
fail. TRUNCATE stays possible (test fixtures reset tables with it)."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION tiers_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER growth_entry_append_only
BEFORE UPDATE OR DELETE ON tiers_growthentry
FOR EACH ROW EXECUTE FUNCTION tiers_is_append_only();

CREATE TRIGGER tier_change_append_only
BEFORE UPDATE OR DELETE ON tiers_tierchange
FOR EACH ROW EXECUTE FUNCTION tiers_is_append_only();
"""

ALLOW = """
DROP TRIGGER IF EXISTS growth_entry_append_only ON tiers_growthentry;
DROP TRIGGER IF EXISTS tier_change_append_only ON tiers_tierchange;
DROP FUNCTION IF EXISTS tiers_is_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
