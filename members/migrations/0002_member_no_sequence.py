from django.db import migrations


def create_online_store(apps, schema_editor):
    Store = apps.get_model("members", "Store")
    Store.objects.get_or_create(
        code="ONLINE", defaults={"name": "线上商城 Online store", "kind": "online"}
    )


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS members_member_no_seq START 10000001",
            "DROP SEQUENCE IF EXISTS members_member_no_seq",
        ),
        migrations.RunPython(create_online_store, migrations.RunPython.noop),
    ]
