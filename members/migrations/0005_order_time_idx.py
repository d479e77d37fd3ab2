from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # built concurrently: on a loaded orders table a plain CREATE INDEX would block sales
    atomic = False

    dependencies = [
        ("members", "0004_member_insights_tags_segments"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=["ordered_at"], name="order_time_idx"),
        ),
    ]
