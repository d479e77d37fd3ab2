"""Campaign triggers read tier changes: the reference ladder (a data migration, removed by
a transactional test's flush) is put back for every test that uses the database."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def default_ladder(request, default_earning_rules):
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not {"db", "transactional_db"} & names:
        return
    from tiers.defaults import ensure_default_ladder

    ensure_default_ladder()
