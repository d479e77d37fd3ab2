"""The campaign's life: transitions, pause and resume between chunks, cancel keeps what
was given and stops what was not."""

from __future__ import annotations

import pytest

from campaigns.errors import CampaignError
from campaigns.models import CampaignRun
from campaigns.services.launch import campaign_run_work
from campaigns.services.schedule import campaigns_tick
from campaigns.services.status import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
)
from points.models import PointsEntry
from tests.campaigns.helpers import campaign, members, states

pytestmark = pytest.mark.django_db


def test_transitions_are_checked(now):
    c = campaign(now)
    with pytest.raises(CampaignError):
        campaign_pause(campaign_id=c.pk, now=now)
    incomplete = campaign(now, code="x", run_at=None)
    with pytest.raises(CampaignError) as raised:
        campaign_schedule(campaign_id=incomplete.pk, now=now)
    assert raised.value.code == "invalid_campaign"


def test_pause_resume_and_cancel(now):
    members(30, now)
    c = campaign(now)
    campaign_schedule(campaign_id=c.pk, now=now)
    campaigns_tick(now=now, max_chunks=0)
    run = CampaignRun.objects.get(campaign=c)
    campaign_run_work(run=run, now=now, chunk=10, max_chunks=2)  # snapshot, one act chunk
    assert states(c) == {"acted": 10, "assigned": 20}
    campaign_pause(campaign_id=c.pk, now=now)
    campaign_run_work(run=run, now=now, chunk=10)  # a worker mid-run stops at the next chunk
    campaigns_tick(now=now)
    assert states(c) == {"acted": 10, "assigned": 20}
    campaign_resume(campaign_id=c.pk, now=now)
    campaign_run_work(run=run, now=now, chunk=10, max_chunks=1)
    assert states(c) == {"acted": 20, "assigned": 10}
    campaign_cancel(campaign_id=c.pk, now=now)
    campaigns_tick(now=now)
    assert states(c) == {"acted": 20, "stopped": 10}
    assert PointsEntry.objects.filter(source_key__startswith=f"campaign:{c.pk}:").count() == 20
    run.refresh_from_db()
    assert run.phase == "stopped"
