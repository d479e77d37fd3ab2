"""Who recorded an order: a staff user or an API key (the key's foreign key is added by
loyalty 0003_actor_api_key_foreign_keys, the layer that owns keys)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0009_staff_stores_access_events_notes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='actor_api_key_id',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='API key'),
        ),
        migrations.AddField(
            model_name='order',
            name='actor_user',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='made by'),
        ),
    ]
