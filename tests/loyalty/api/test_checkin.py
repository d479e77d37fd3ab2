"""Check-in over HTTP: once a Beijing day (the endpoint and a `checkin` event count as
one), the calendar, make-up check-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CheckIn
from core.clock import local_date
from tests.points.catalog_helpers import give_points

from .conftest import API, error_code

pytestmark = pytest.mark.django_db


def test_check_in_once_a_day_and_the_event_path_counts_the_same_day(api, member):
    first = api.post(f"{API}/members/{member.pk}/checkin")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["created"] and body["checkin"]["streak"] == 1 and body["points"] == 5
    again = api.post(f"{API}/members/{member.pk}/checkin")
    assert again.status_code == 200 and not again.json()["created"]
    assert again.json()["points"] == 0
    event = api.post(f"{API}/events", {"member": member.pk, "type": "checkin",
                                       "event_id": "app-checkin-x"}, format="json")
    assert event.status_code == 201, event.content
    assert CheckIn.objects.filter(member=member).count() == 1
    cal = api.get(f"{API}/members/{member.pk}/checkin/calendar")
    assert cal.status_code == 200, cal.content
    today = local_date(timezone.now())
    assert cal.json()["checked_in_today"] and cal.json()["streak"] == 1
    assert [d["day"] for d in cal.json()["days"] if d["checked_in"]] == [today.isoformat()]
    bad = api.get(f"{API}/members/{member.pk}/checkin/calendar", {"month": "2026-13"})
    assert bad.status_code == 400 and error_code(bad) == "invalid_input"


def test_makeup_over_http(api, member, now):
    today = local_date(timezone.now())
    url = f"{API}/members/{member.pk}/checkin/makeup"
    if today.day == 1:  # nothing earlier this month to make up
        refused = api.post(url, {"day": (today - timedelta(days=1)).isoformat()}, format="json")
        assert refused.status_code == 400 and error_code(refused) == "makeup_not_allowed"
        return
    day = today.replace(day=1).isoformat()
    short = api.post(url, {"day": day}, format="json")
    assert short.status_code == 409 and error_code(short) == "insufficient_points"
    give_points(member.pk, 100, now)
    made = api.post(url, {"day": day}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["checkin"]["kind"] == "makeup"
    assert made.json()["checkin"]["cost_points"] == 20
    assert api.post(url, {"day": day}, format="json").status_code == 200
    future = api.post(url, {"day": today.isoformat()}, format="json")
    assert future.status_code == 400 and error_code(future) == "makeup_not_allowed"
