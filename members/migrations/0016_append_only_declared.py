"""The append-only guards are declared on the models (`core.models.append_only()`,
django-pgtrigger): the triggers pgtrigger generates replace the ones written by hand in members
0009, which are dropped with their functions. Going back puts those back as they were."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# the hand-written guards, as the earlier migrations left them
HAND_WRITTEN = """
CREATE OR REPLACE FUNCTION members_access_event_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access events are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER access_event_append_only
BEFORE UPDATE OR DELETE ON members_accessevent
FOR EACH ROW EXECUTE FUNCTION members_access_event_is_append_only();
"""

DROP_HAND_WRITTEN = """
DROP TRIGGER access_event_append_only ON members_accessevent;
DROP FUNCTION members_access_event_is_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0015_typed_text_and_tag_import_jobs'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='accessevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='54bdc79557bbb116f1e3311536332ea8a93229e6', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_a4f5a', table='members_accessevent', when='BEFORE')),
        ),
        migrations.RunSQL(DROP_HAND_WRITTEN, HAND_WRITTEN),
    ]
