"""Who made each ledger entry, redemption and coupon event (a staff user or an API key), and
the store where one applies. The API key's foreign key is added by loyalty
0003_actor_api_key_foreign_keys, the layer that owns keys."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0010_order_actor'),
        ('points', '0008_entry_kinds_refund_and_holds'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='couponevent',
            name='actor_api_key_id',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='API key'),
        ),
        migrations.AddField(
            model_name='couponevent',
            name='actor_user',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='made by'),
        ),
        migrations.AddField(
            model_name='couponevent',
            name='store',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.store', verbose_name='store'),
        ),
        migrations.AddField(
            model_name='pointsentry',
            name='actor_api_key_id',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='API key'),
        ),
        migrations.AddField(
            model_name='pointsentry',
            name='actor_user',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='made by'),
        ),
        migrations.AddField(
            model_name='pointsentry',
            name='store',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.store', verbose_name='store'),
        ),
        migrations.AddField(
            model_name='rewardredemption',
            name='actor_api_key_id',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='API key'),
        ),
        migrations.AddField(
            model_name='rewardredemption',
            name='actor_user',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='made by'),
        ),
    ]
