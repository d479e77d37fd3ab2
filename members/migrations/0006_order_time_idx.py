from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # built concurrently: on a loaded orders table a plain CREATE INDEX would block sales
    atomic = False

    dependencies = [
        ("members", "0005_segment_facts_narrow_table"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=["ordered_at"], name="order_time_idx"),
        ),
    ]
