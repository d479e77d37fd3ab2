"""Paid-membership purchases, benefit uses and multiplier bonuses are append-only in
PostgreSQL itself, like the growth ledger (0002): UPDATE and DELETE fail."""

from django.db import migrations

TABLES = {
    "paid_purchase_append_only": "tiers_paidpurchase",
    "benefit_use_append_only": "tiers_benefituse",
    "multiplier_bonus_append_only": "tiers_multiplierbonus",
}

FORBID = "\n".join(
    f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
    f"FOR EACH ROW EXECUTE FUNCTION tiers_is_append_only();"
    for name, table in TABLES.items())

ALLOW = "\n".join(f"DROP TRIGGER IF EXISTS {name} ON {table};" for name, table in TABLES.items())


class Migration(migrations.Migration):
    dependencies = [("tiers", "0004_benefits_and_paid_membership")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
