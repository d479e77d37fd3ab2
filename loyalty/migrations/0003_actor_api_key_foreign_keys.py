"""Rows of the lower layers name the API key that made them by id (`actor_api_key_id`,
core.models.AttributedRow); keys belong to this layer, so the foreign keys are added here.
NOT VALID first, then VALIDATE: the check scans the table without blocking writes."""

from django.db import migrations

TABLES = ("members_order", "members_accessevent", "points_pointsentry",
          "points_couponevent", "points_rewardredemption")


def _forward(table: str) -> str:
    return (f"ALTER TABLE {table} ADD CONSTRAINT {table}_actor_api_key_fk "
            f"FOREIGN KEY (actor_api_key_id) REFERENCES loyalty_apikey (id) "
            f"DEFERRABLE INITIALLY DEFERRED NOT VALID; "
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {table}_actor_api_key_fk;")


def _backward(table: str) -> str:
    return f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_actor_api_key_fk;"


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0002_role_groups"),
        ("members", "0010_order_actor"),
        ("points", "0009_actor_columns_on_ledger"),
    ]

    operations = [migrations.RunSQL(_forward(t), _backward(t)) for t in TABLES]
