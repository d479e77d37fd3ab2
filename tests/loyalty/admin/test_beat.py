"""The periodic tasks pages (django-celery-beat, registered again in loyalty.admin.beat)
read in the operator's language: column titles, headings and crontabs in words."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from tests.loyalty.console_html import page_texts

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(db):
    nightly = CrontabSchedule.objects.create(minute="10", hour="0", timezone="Asia/Shanghai")
    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.create(name="过期积分", task="points.tasks.expire_points",
                                crontab=nightly)
    PeriodicTask.objects.create(name="负债汇总", task="points.tasks.rollup_liability",
                                interval=hourly)
    return nightly


def _titles(html: str) -> list[str]:
    return [t.text for t in page_texts(html) if t.column_of is not None]


def test_the_task_list_speaks_chinese(admin_client, tasks):
    page = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    html = page.content.decode()
    titles = _titles(html)
    assert "时间表" in titles and "Scheduler" not in titles
    assert "在 00:10 (Asia/Shanghai)" in html  # the crontab in words, in Chinese
    assert "Task Name" not in html


def test_a_task_page_has_translated_headings(admin_client, tasks):
    task = PeriodicTask.objects.get(name="过期积分")
    page = admin_client.get(reverse("admin:django_celery_beat_periodictask_change",
                                    args=[task.pk]))
    headings = {t.text.rstrip(":：") for t in page_texts(page.content.decode()) if t.chrome}
    for english in ("Schedule", "Arguments", "Execution Options", "Crontab translation"):
        assert english not in headings
    assert {"时间表", "参数", "执行选项", "计划时间说明"} <= headings
    # what the page's script shows when another crontab is picked
    assert page.context["readable_crontabs"] == {tasks.pk: "在 00:10 (Asia/Shanghai)"}


def test_a_schedule_page_lists_its_tasks_in_chinese(admin_client, tasks):
    html = admin_client.get(reverse("admin:django_celery_beat_crontabschedule_change",
                                    args=[tasks.pk])).content.decode()
    chrome = [t.text for t in page_texts(html) if t.chrome]
    assert "使用此时间表的周期任务" in chrome and "任务" in _titles(html)
    assert "Periodic Tasks Using This Schedule" not in html and "Task Name" not in html
    assert "计划执行的星期几" in html  # the package's untranslated help, from our catalogue


def test_english_stays_english(admin_client, tasks):
    html = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist"),
                            HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "At 00:10 (Asia/Shanghai)" in html
