"""The append-only guards are declared on the models (`core.models.append_only()`,
django-pgtrigger): the triggers pgtrigger generates replace the ones written by hand in tiers 0002
and 0005, which are dropped with their functions. Going back puts those back as they were."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# the hand-written guards, as the earlier migrations left them
HAND_WRITTEN = """
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

CREATE TRIGGER paid_purchase_append_only
BEFORE UPDATE OR DELETE ON tiers_paidpurchase
FOR EACH ROW EXECUTE FUNCTION tiers_is_append_only();

CREATE TRIGGER benefit_use_append_only
BEFORE UPDATE OR DELETE ON tiers_benefituse
FOR EACH ROW EXECUTE FUNCTION tiers_is_append_only();

CREATE TRIGGER multiplier_bonus_append_only
BEFORE UPDATE OR DELETE ON tiers_multiplierbonus
FOR EACH ROW EXECUTE FUNCTION tiers_is_append_only();
"""

DROP_HAND_WRITTEN = """
DROP TRIGGER growth_entry_append_only ON tiers_growthentry;
DROP TRIGGER tier_change_append_only ON tiers_tierchange;
DROP TRIGGER paid_purchase_append_only ON tiers_paidpurchase;
DROP TRIGGER benefit_use_append_only ON tiers_benefituse;
DROP TRIGGER multiplier_bonus_append_only ON tiers_multiplierbonus;
DROP FUNCTION tiers_is_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('tiers', '0009_typed_text_refuses_control_characters'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='benefituse',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='5ce0c72dd8e6b0d3cfb563fc260d492b2e18c052', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_02080', table='tiers_benefituse', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='growthentry',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='e87425ca2150d660055dc945cf534abc7bae7b5e', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_9370e', table='tiers_growthentry', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='multiplierbonus',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='b8737033d7511cec67cd67dae1c44e0a6a4c3171', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_4c35e', table='tiers_multiplierbonus', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='paidpurchase',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='a4b44f08690a2fdbe7311e556dff208177e4dead', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_d835e', table='tiers_paidpurchase', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='tierchange',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';", hash='33c109ac54b193b66abb30c6821647145c3977fc', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_1e3d6', table='tiers_tierchange', when='BEFORE')),
        ),
        migrations.RunSQL(DROP_HAND_WRITTEN, HAND_WRITTEN),
    ]
