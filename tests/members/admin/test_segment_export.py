"""The segment CSV export: names that would be formulas are written as text; ids stay
numbers (core.export)."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

from members.models import Segment


def test_the_segment_export_neutralises_formulas(admin_client, make_member):
    hostile = make_member(name='=HYPERLINK("http://evil.example","点击")', gender="female")
    plain = make_member(name="王芳", gender="female")
    segment = Segment.objects.create(code="women", name="女性", expression="gender:female")
    response = admin_client.get(reverse("admin:members_segment_export", args=[segment.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {row[1]: row for row in csv.reader(io.StringIO(text))}
    assert rows[hostile.member_no][2] == '\'=HYPERLINK("http://evil.example","点击")'
    assert rows[plain.member_no][2] == "王芳"
    assert f"\n{hostile.pk},{hostile.member_no}," in text.replace("\r\n", "\n")  # unquoted
