from django.db import migrations

import members.fields

# Regions are stored in one form (members/regions.py): 上海市 → 上海, 广西壮族自治区 → 广西,
# 广东省广州市 → 广州; unknown text is kept, trimmed. Existing rows are normalised here in
# SQL, two statements per table, through a temporary table of every recognised spelling.
# The per-row trigger that copies a member's region to members_segmentfacts is switched off
# meanwhile (the ALTER holds writers off until commit) and the copy is updated in one
# statement instead of one trigger call per member.


def normalise_regions(apps, schema_editor):
    from members.regions import SEPARATORS, SPACES, region_aliases

    aliases = region_aliases()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE region_alias (key text PRIMARY KEY, "
                       "short text NOT NULL) ON COMMIT DROP")
        cursor.execute("INSERT INTO region_alias (key, short) "
                       "SELECT * FROM unnest(%s::text[], %s::text[])",
                       [list(aliases), list(aliases.values())])
        cursor.execute("ANALYZE region_alias")
        # deferred foreign-key checks still queued in this transaction would block the ALTER
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE members_member DISABLE TRIGGER member_segment_facts_changed")
        for table in ("members_member", "members_store"):
            cursor.execute(f"UPDATE {table} SET region = btrim(region, %s) "
                           "WHERE region <> btrim(region, %s)", [SPACES, SPACES])
            cursor.execute(f"""UPDATE {table} t SET region = a.short FROM region_alias a
                               WHERE a.key = translate(t.region, %s, '')
                                 AND t.region <> a.short""", [SEPARATORS])
        cursor.execute("""UPDATE members_segmentfacts f SET region = m.region
                          FROM members_member m
                          WHERE m.id = f.member_id AND f.region <> m.region""")
        cursor.execute("ALTER TABLE members_member ENABLE TRIGGER member_segment_facts_changed")


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0006_order_time_idx"),
    ]

    operations = [
        migrations.AlterField(
            model_name="member",
            name="region",
            field=members.fields.RegionField(blank=True, max_length=64, verbose_name="region"),
        ),
        migrations.AlterField(
            model_name="store",
            name="region",
            field=members.fields.RegionField(blank=True, max_length=64, verbose_name="region"),
        ),
        migrations.RunPython(normalise_regions, migrations.RunPython.noop),
    ]
