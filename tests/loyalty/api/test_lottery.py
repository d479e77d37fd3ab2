"""The lottery over HTTP: the published commitment, a draw idempotent by draw id, a member's
prizes, the recorded draws and their verification once the seed is published."""

from __future__ import annotations

import pytest

from campaigns.models import LotteryDraw
from campaigns.services.lottery import lottery_close
from tests.campaigns.lottery_helpers import lottery
from tests.points.catalog_helpers import give_points
from tests.points.helpers import balances

from .conftest import API, error_code, row_counts

pytestmark = pytest.mark.django_db


def test_draw_is_idempotent_by_draw_id_and_verifiable_after_close(api, member, now):
    give_points(member.pk, 100, now)
    lot = lottery(now, [{"name": "谢谢", "kind": "nothing", "weight": 3},
                        {"name": "20分", "kind": "points", "weight": 1, "points": 20}],
                  cost_kind="points", cost_points=10)
    info = api.get(f"{API}/lotteries/{lot.pk}")
    assert info.status_code == 200, info.content
    assert info.json()["seed"] is None and info.json()["commitment"] == lot.commitment
    assert [p["weight"] for p in info.json()["prizes"]] == [3, 1]
    url = f"{API}/members/{member.pk}/lotteries/{lot.pk}/draw"
    first = api.post(url, {"draw_id": "app-1"}, format="json")
    assert first.status_code == 201, first.content
    again = api.post(url, {"draw_id": "app-1"}, format="json")
    assert again.status_code == 200 and again.json() == first.json()
    assert LotteryDraw.objects.count() == 1
    won = 20 if first.json()["prize"]["kind"] == "points" else 0
    assert balances(member.pk)["available"] == 100 - 10 + won
    for i in range(2, 6):
        assert api.post(url, {"draw_id": f"app-{i}"}, format="json").status_code == 201
    mine = api.get(f"{API}/members/{member.pk}/lottery-draws")
    assert len(mine.json()["results"]) == 5
    closed_check = api.get(f"{API}/lotteries/{lot.pk}/verification").json()
    assert closed_check["seed"] is None and closed_check["draws"] is None
    lottery_close(lottery_id=lot.pk)
    check = api.get(f"{API}/lotteries/{lot.pk}/verification")
    assert check.status_code == 200
    assert check.json()["commitment_ok"] is True and check.json()["draws"] == 5
    assert check.json()["mismatched"] == [] and check.json()["seed"] == lot.seed
    listed = api.get(f"{API}/lotteries/{lot.pk}/draws")
    assert {d["draw_id"] for d in listed.json()["results"]} == {f"app-{i}" for i in range(1, 6)}


def test_refusals_are_the_error_shape_and_write_nothing(api, member, now):
    lot = lottery(now, [{"name": "谢谢", "kind": "nothing", "weight": 1}],
                  cost_kind="points", cost_points=10)
    url = f"{API}/members/{member.pk}/lotteries/{lot.pk}/draw"
    before = row_counts()
    short = api.post(url, {"draw_id": "x-1"}, format="json")
    assert short.status_code == 409 and error_code(short) == "insufficient_points"
    bad = api.post(url, {"draw_id": "has space"}, format="json")
    assert bad.status_code == 400 and error_code(bad) == "invalid_input"
    assert api.post(f"{API}/members/{member.pk}/lotteries/999999/draw", {"draw_id": "x"},
                    format="json").status_code == 404
    assert row_counts() == before and not LotteryDraw.objects.exists()
