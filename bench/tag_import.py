#!/usr/bin/env python
"""A million member numbers (20 MB) through the tag import: time and peak memory.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench_import \\
        .venv/bin/python bench/tag_import.py [--rows 1000000] [--known 20000]

Migrates the database, makes --known members numbered 7000…0 to 7000…(known − 1) if they
are missing, a manual tag `bench-import` and a superuser `bench-importer`, then posts the
import page's form with a file of --rows numbers (the first --known of them members)
through Django's WSGI handler in a process of its own, the job run there too
(tests/members/services/tag_import_probe.py). Prints the seconds, the peak resident memory (VmHWM)
and the job's counts, and fails if the peak passes 200 MB. The tag is taken off the members
afterwards, so the next run tags them again. Use a database of its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from members.models import Member, Tag, TagChange  # noqa: E402
from members.services.tags import member_tags_remove  # noqa: E402
from tests.members.services.tag_import_probe import run_import  # noqa: E402

PEAK_LIMIT_MB = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--known", type=int, default=20_000)
    args = parser.parse_args()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO members_member (member_no, name, gender, region, source_channel,
                                        status, marketing_consent, marketing_consent_source,
                                        created_at, updated_at)
            SELECT '7' || lpad(n::text, 17, '0'), '', 'unknown', '', 'import', 'active',
                   false, '', now(), now()
            FROM generate_series(0, %s - 1) n
            ON CONFLICT (member_no) DO NOTHING
            """, [args.known])
    tag, _ = Tag.objects.get_or_create(code="bench-import", defaults={"name": "bench import"})
    user = User.objects.filter(username="bench-importer").first() or \
        User.objects.create_superuser("bench-importer", password=os.urandom(16).hex())
    client = Client()
    client.force_login(user)
    with tempfile.TemporaryDirectory() as work:
        probe = run_import(work=Path(work), database_url=os.environ["DATABASE_URL"],
                           session_id=client.cookies["sessionid"].value, tag_id=tag.pk,
                           rows=args.rows)
    peak = probe["peak_after_kb"] / 1024
    print(f"{args.rows:,} numbers, {probe['bytes'] / 2**20:.1f} MB: {probe['seconds']:.1f} s "
          f"(process start to job done); peak RSS {peak:.0f} MB "
          f"({probe['peak_before_kb'] / 1024:.0f} MB after serving a page)")
    print(f"answer {probe['status']}; job {probe['job']}")
    member_tags_remove(tag_id=tag.pk, members=Member.objects.filter(member_tags__tag=tag),
                       cause=TagChange.Cause.MANUAL)
    return 0 if probe["job"]["status"] == "done" and peak < PEAK_LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
