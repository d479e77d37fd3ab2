"""Member rules that live in Python and in SQL: the two must agree."""

from __future__ import annotations

from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from members.models import Member

POOL = 6


def test_may_earn_or_spend_agrees_in_python_queries_and_sql(make_member):
    """Batch jobs (campaign credits, coupon issues, benefit grants) ask the SQL fragment,
    services the property, admin and tiers the query filter: on any mix of statuses they
    pick the same members — the active ones."""
    ids = [make_member().pk for _ in range(POOL)]

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.lists(st.sampled_from(Member.Status.values), min_size=POOL, max_size=POOL))
    def agree(statuses):
        for pk, status in zip(ids, statuses, strict=True):
            Member.objects.filter(pk=pk).update(status=status)
        python = {m.pk for m in Member.objects.filter(pk__in=ids) if m.can_earn_or_spend}
        query = set(Member.objects.filter(Member.can_earn_or_spend_q(), pk__in=ids)
                    .values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT m.id FROM members_member m WHERE m.id = ANY(%s) AND "
                           + Member.can_earn_or_spend_sql("m"), [ids])
            sql = {row[0] for row in cursor.fetchall()}
        assert python == query == sql
        assert python == {pk for pk, status in zip(ids, statuses, strict=True)
                          if status == Member.Status.ACTIVE}

    agree()
