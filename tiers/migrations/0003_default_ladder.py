"""The reference ladder (tiers.defaults) and its system tags."""

from django.db import migrations


def create_default_ladder(apps, schema_editor):
    from tiers.defaults import ensure_default_ladder

    ensure_default_ladder(tier_model=apps.get_model("tiers", "Tier"),
                          tag_model=apps.get_model("members", "Tag"))


class Migration(migrations.Migration):
    dependencies = [("tiers", "0002_ledger_guards"), ("members", "0003_drop_redundant_fk_indexes")]

    operations = [migrations.RunPython(create_default_ladder, migrations.RunPython.noop)]
