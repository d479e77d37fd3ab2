"""Task progress over HTTP."""

from __future__ import annotations

import pytest

from campaigns.models import Task
from loyalty.services.intake import record_sale
from tests.points.helpers import sale_input

from .conftest import API

pytestmark = pytest.mark.django_db


def test_progress_two_of_three_purchases_this_month(api, member, store, now):
    Task.objects.create(code="buy-3", name="本月购买3次", goal="purchases", target_count=3,
                        created_at=now)
    from django.utils import timezone

    at = timezone.now()
    for n in range(2):
        record_sale(sale=sale_input(store, member.pk, at, f"T-{n}", "50.00"), now=at)
    response = api.get(f"{API}/members/{member.pk}/tasks")
    assert response.status_code == 200, response.content
    [task] = response.json()["tasks"]
    assert (task["code"], task["done"], task["target"], task["completed"]) == (
        "buy-3", "2.00", "3.00", False)
