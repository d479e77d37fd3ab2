from django.db import migrations, models

# Segments keep their tags and home stores by id (members/segment_expr.py, stored_form), so
# that renaming a tag or changing a code changes no segment. Definitions written before
# named them by code: rewrite those codes as ids. Segments are made by hand (a few dozen),
# so one row at a time; a code that no longer exists is left as written.


def _rewrite(apps, to_ids: bool):
    from members.segment_expr import rewrite_references

    Segment = apps.get_model("members", "Segment")
    Tag = apps.get_model("members", "Tag")
    Store = apps.get_model("members", "Store")
    pairs = {"tag": list(Tag.objects.values_list("code", "pk")),
             "store": list(Store.objects.values_list("code", "pk"))}
    if to_ids:
        names = {key: {code: f"#{pk}" for code, pk in rows} for key, rows in pairs.items()}
    else:
        names = {key: {f"#{pk}": code for code, pk in rows} for key, rows in pairs.items()}

    def label(key, value):
        return names[key].get(value, value)

    for segment in Segment.objects.all():
        stored = rewrite_references(segment.expression, label)
        if stored != segment.expression:
            Segment.objects.filter(pk=segment.pk).update(expression=stored)


def keep_tags_by_id(apps, schema_editor):
    _rewrite(apps, to_ids=True)


def name_tags_by_code(apps, schema_editor):
    _rewrite(apps, to_ids=False)


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0007_normalise_regions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="segment",
            name="expression",
            field=models.TextField(help_text="For example: tag:高消费 and (gender:female or region:上海) and not tag:churned. A tag by its name or its code; terms: tag:, gender:, region:, store:, channel:, status:, age:20-35; combine with and, or, not and brackets. Tags are kept by id: renaming a tag changes no segment.", verbose_name="definition"),
        ),
        migrations.RunPython(keep_tags_by_id, name_tags_by_code),
    ]
