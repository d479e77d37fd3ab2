"""The five role groups exist on every install, not only where the demo ran. Their
permissions are given after every `migrate` (loyalty.apps), once every app's permissions
exist."""

from django.db import migrations

ROLES = ("programme_admins", "operators", "clerks", "finance", "auditors")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
