"""Tasks: progress from what members did, completed and rewarded exactly once per period —
a duplicate event, two racing events (real threads), the next month again for a monthly
task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import LotteryEntries, Task, TaskCompletion
from campaigns.selectors.tasks import task_progress
from loyalty.services.intake import record_activity, record_return, record_sale
from members.models import Store
from members.services.activity import ActivityInput
from points.models import EarningRule, PointsEntry
from tests.campaigns.helpers import members
from tests.campaigns.lottery_helpers import lottery
from tests.points.helpers import return_input, sale_input, set_points_settings
from tests.races import run_at_once

NOW = datetime(2026, 5, 10, 4, 0, tzinfo=UTC)


def task_rule(code: str, points: int) -> EarningRule:
    return EarningRule.objects.create(
        rule_key=f"task-{code}", name=f"任务 {code}", event="task_completed",
        custom_event=code, formula="fixed", fixed_points=points, created_at=timezone.now())


def task_points(member_id: int, code: str) -> int:
    return sum(PointsEntry.objects.filter(member_id=member_id, reason=code)
               .values_list("available_delta", flat=True))


@pytest.mark.django_db
def test_monthly_purchases_progress_and_once_per_month():
    set_points_settings(pending_days=0)
    store = Store.objects.create(code="SH001", name="上海店", region="上海")
    member = members(1, NOW)[0]
    buy3 = Task.objects.create(code="buy-3", name="本月购买3次", goal="purchases",
                               target_count=3, created_at=NOW)
    spend = Task.objects.create(code="spend-500", name="本月消费500元", goal="spend",
                                target_amount=Decimal("500"), created_at=NOW)
    task_rule("buy-3", 100)
    for n in range(2):
        record_sale(sale=sale_input(store, member.pk, NOW, f"A-{n}", "200.00"), now=NOW)
    by_code = {p.task.code: p for p in task_progress(member_id=member.pk, now=NOW)}
    assert (by_code["buy-3"].done, by_code["buy-3"].target) == (2, 3)  # 2 of 3 this month
    assert by_code["spend-500"].done == Decimal("400.00") and not by_code["spend-500"].completed
    record_sale(sale=sale_input(store, member.pk, NOW, "A-2", "200.00"), now=NOW)
    record_sale(sale=sale_input(store, member.pk, NOW, "A-3", "200.00"), now=NOW)
    assert TaskCompletion.objects.filter(task=buy3, member=member).count() == 1
    assert TaskCompletion.objects.filter(task=spend, member=member).count() == 1
    assert task_points(member.pk, "buy-3") == 100
    # a return brings the month's spend down; the completion stays
    record_return(ret=return_input(store, NOW, "R-1", "A-3"), now=NOW)
    assert {p.task.code: p.done for p in task_progress(member_id=member.pk, now=NOW)}[
        "spend-500"] == Decimal("600.00")
    # next month (Beijing): a new period
    june = datetime(2026, 5, 31, 16, 30, tzinfo=UTC)  # 1 June 00:30 Beijing
    for n in range(3):
        record_sale(sale=sale_input(store, member.pk, june, f"B-{n}", "10.00"), now=june)
    assert sorted(TaskCompletion.objects.filter(task=buy3).values_list("period", flat=True)) == [
        "2026-05", "2026-06"]
    assert task_points(member.pk, "buy-3") == 200


@pytest.mark.django_db
def test_once_only_task_from_an_event_pays_once_even_if_sent_again():
    set_points_settings(pending_days=0)
    member = members(1, NOW)[0]
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1}], cost_kind="entries")
    Task.objects.create(code="follow", name="关注公众号", goal="followed_account", lottery=lot,
                        lottery_entries=2, created_at=NOW)
    task_rule("follow", 30)
    for key in ("f-1", "f-1", "f-2"):
        record_activity(data=ActivityInput(member_id=member.pk, kind="followed_account",
                                           source_key=key, occurred_at=NOW), now=NOW)
    assert TaskCompletion.objects.filter(member=member).count() == 1
    assert task_points(member.pk, "follow") == 30
    assert LotteryEntries.objects.get(member=member).entries == 2
    [progress] = task_progress(member_id=member.pk, now=NOW + timedelta(days=40))
    assert progress.completed and progress.period == "once"


@pytest.mark.django_db(transaction=True)
def test_a_task_completed_by_two_racing_events_pays_once():
    set_points_settings(pending_days=0)
    member = members(1, NOW)[0]
    task = Task.objects.create(code="profile", name="完善资料", goal="profile_completed",
                               created_at=NOW)
    task_rule("profile", 50)

    def work(i: int):
        return record_activity(data=ActivityInput(
            member_id=member.pk, kind="profile_completed", source_key=f"race-{i}",
            occurred_at=NOW), now=NOW).created

    results = run_at_once(work, 8)
    assert [r for r in results if r[0] == "error"] == []
    assert TaskCompletion.objects.filter(task=task, member=member).count() == 1
    assert task_points(member.pk, "profile") == 50
    assert PointsEntry.objects.filter(member_id=member.pk,
                                      source_key__startswith="task:").count() == 1
