"""GET /members/{id}/offers: the campaigns that acted on a member and what each gave."""

from __future__ import annotations

import pytest

from campaigns.models import CampaignStatus
from campaigns.services.act import campaign_act
from tests.campaigns.helpers import campaign, coupon_template, members
from tests.campaigns.selectors.test_results import world  # noqa: F401  (fixture)

from .conftest import API, client_for

pytestmark = pytest.mark.django_db


def test_your_offers_list_points_coupons_and_gifts_not_the_control_group(make_key, now):
    a, b = members(2, now)
    template = coupon_template(now)
    c = campaign(now, actions=[("points", {"points": 100}),
                               ("coupon", {"coupon_template": template}),
                               ("gift", {"gift_name": "帆布袋", "gift_days": 7})])
    c.status = CampaignStatus.RUNNING
    c.save()
    campaign_act(campaign=c, occasion="once", member_ids=[a.pk], now=now)
    _key, raw = make_key(scopes=["campaigns:read"])
    api = client_for(raw)
    answer = api.get(f"{API}/members/{a.pk}/offers")
    assert answer.status_code == 200, answer.content
    [offer] = answer.json()["results"]
    assert (offer["campaign"], offer["occasion"], offer["variant"], offer["points"]) == (
        c.code, "once", "A", 100)
    assert len(offer["coupons"]) == 1 and offer["gifts"][0]["name"] == "帆布袋"
    assert api.get(f"{API}/members/{b.pk}/offers").json()["results"] == []
    _key, other = make_key(scopes=["members:read"])
    assert client_for(other).get(f"{API}/members/{a.pk}/offers").status_code == 403


def test_campaign_results_lift_and_roi(make_key, world):  # noqa: F811
    _key, raw = make_key(scopes=["campaigns:read"])
    api = client_for(raw)
    answer = api.get(f"{API}/campaigns/{world.code}/results")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["window_days"] == 14
    t, k = body["treated"], body["control"]
    assert (t["members"], t["converted"], t["revenue"], t["cost"]) == (10, 6, "560.00", "35.00")
    assert (t["lift"], t["lift_low"], t["lift_high"]) == ("0.3000", "-0.1158", "0.7158")
    assert (t["incremental_revenue"], t["roi"]) == ("260.00", "6.4286")
    assert (k["members"], k["lift"]) == (10, None)
    assert [v["code"] for v in body["variants"]] == ["A"]
    assert api.get(f"{API}/campaigns/no-such/results").status_code == 404
    _key, other = make_key(scopes=["members:read"])
    assert client_for(other).get(f"{API}/campaigns/{world.code}/results").status_code == 403
