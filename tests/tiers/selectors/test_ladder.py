"""Ladder rules that live in Python and in SQL: the two must agree."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from tiers.models import Tier
from tiers.selectors.ladder import spend_for_growth, tier_for_growth, tier_for_growth_sql

pytestmark = pytest.mark.django_db

GROWTHS = st.integers(min_value=0, max_value=60_000)
ENTRY = st.tuples(st.none() | st.integers(min_value=0, max_value=50_000),  # min_growth
                  st.booleans(),  # requires a first purchase
                  st.booleans())  # active


def test_the_highest_tier_a_growth_reaches_agrees_in_python_and_sql():
    """Upgrades ask Python; re-evaluation, recalculation, placement and the preview ask the
    SQL fragment: on any ladder (entries, first-purchase rule, active or not) and any
    growth, with or without a first purchase, they pick the same tier."""
    tiers = list(Tier.objects.order_by("rank"))
    assert len(tiers) >= 3

    @settings(max_examples=80, deadline=None, database=None)
    @given(st.lists(ENTRY, min_size=len(tiers), max_size=len(tiers)),
           st.lists(st.tuples(GROWTHS, st.booleans()), min_size=1, max_size=6))
    def agree(entries, standings):
        for tier, (min_growth, purchase, active) in zip(tiers, entries, strict=True):
            Tier.objects.filter(pk=tier.pk).update(min_growth=min_growth,
                                                   requires_first_purchase=purchase,
                                                   is_active=active)
        python = [getattr(tier_for_growth(growth=g, purchased=p), "pk", None)
                  for g, p in standings]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT best.id FROM unnest(%s::bigint[], %s::boolean[]) WITH ORDINALITY "
                "AS s(growth, purchased, n) LEFT JOIN LATERAL "
                + tier_for_growth_sql(growth="s.growth", purchased="s.purchased")
                + " best ON TRUE ORDER BY s.n",
                [[g for g, _ in standings], [p for _, p in standings]])
            sql = [row[0] for row in cursor.fetchall()]
        assert python == sql
        for (growth, purchased), chosen in zip(standings, python, strict=True):
            reached = [t for t, (m, needs, active) in zip(tiers, entries, strict=True)
                       if active and (m is None or m <= growth) and (purchased or not needs)]
            assert chosen == (max(reached, key=lambda t: t.rank).pk if reached else None)

    agree()


@given(st.integers(min_value=0, max_value=10**9),
       st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2))
def test_spend_to_reach_a_tier_is_rounded_up_to_the_fen(growth, rate):
    """One rounding for the spend a tier needs (the member's progress, the admin's member
    page and the ladder preview): up to the fen, never short of the growth."""
    spend = spend_for_growth(growth, rate)
    assert spend == spend.quantize(Decimal("0.01"))
    assert spend * rate >= growth > (spend - Decimal("0.01")) * rate
    assert spend_for_growth(growth, Decimal(0)) is None
