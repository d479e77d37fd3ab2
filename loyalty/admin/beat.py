"""The periodic tasks pages (django-celery-beat) as the rest of the console reads them.

The package names some columns and labels without translating them (the task's "Task
Name", "Human readable", "Scheduler") and its own catalogue leaves a few headings
untranslated; its crontabs are described in English. Its admins are registered again here
with translated labels and crontabs in the operator's language."""

from __future__ import annotations

from cron_descriptor import ExpressionDescriptor, Options
from cron_descriptor.Exception import (
    FormatException,
    MissingFieldException,
    WrongArgumentException,
)
from django.contrib import admin
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_celery_beat import admin as beat
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from unfold.admin import ModelAdmin

# Help texts of the package's crontab fields that its zh-hans catalogue leaves untranslated
# (marked fuzzy there); our catalogue, which comes first, translates them.
gettext_noop('Cron Months (1-12) Of The Year to Run. Use "*" for "all". (Example: "1,12")')
gettext_noop('Cron Days Of The Week to Run. Use "*" for "all", Sunday is 0 or 7, Monday is 1. '
             '(Example: "0,5")')

CRON_LOCALES = {"zh-hans": "zh_CN", "en": "en_US"}


def crontab_in_words(crontab: CrontabSchedule) -> str:
    """"At 00:10" — in the operator's language — and the crontab's time zone."""
    expression = (f"{crontab.minute} {crontab.hour} {crontab.day_of_month} "
                  f"{crontab.month_of_year} {crontab.day_of_week}")
    options = Options()
    options.locale_code = CRON_LOCALES.get(translation.get_language() or "", "en_US")
    options.use_24hour_time_format = True
    try:
        words = ExpressionDescriptor(expression, options).get_description()
    except (FormatException, MissingFieldException, WrongArgumentException, ValueError):
        words = expression
    return f"{words} ({crontab.timezone})"


def schedule_text(task: PeriodicTask) -> str:
    if task.crontab_id:
        return crontab_in_words(task.crontab)
    if task.clocked_id:
        return timezone.localtime(task.clocked.clocked_time).strftime("%Y-%m-%d %H:%M")
    schedule = task.interval or task.solar
    return str(schedule) if schedule else "-"


class PeriodicTaskInline(beat.PeriodicTaskInline):
    fields = ("name", "task_name", "args", "kwargs")
    readonly_fields = fields
    verbose_name = _("periodic task using this schedule")
    verbose_name_plural = _("periodic tasks using this schedule")

    @admin.display(description=_("task"))
    def task_name(self, obj: PeriodicTask) -> str:
        return obj.task


class TaskFilter(admin.AllValuesFieldListFilter):
    """The package's task field has an untranslated name ("Task Name")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("task")


class ScheduleAdmin(ModelAdmin):
    inlines = (PeriodicTaskInline,)


class PeriodicTaskAdmin(beat.PeriodicTaskAdmin, ModelAdmin):
    # Switching a job on or off, or running it now, changes the task: each action declares
    # the change permission (the package's own declare none).
    def _action(name):
        base = getattr(beat.PeriodicTaskAdmin, name)

        @admin.action(description=base.short_description, permissions=["change"])
        def action(self, request, queryset):
            return base(self, request, queryset)

        action.__name__ = name
        return action

    enable_tasks = _action("enable_tasks")
    disable_tasks = _action("disable_tasks")
    toggle_tasks = _action("toggle_tasks")
    run_tasks = _action("run_tasks")
    del _action

    list_display = ("name", "enabled", "runs", "start_time", "last_run_at", "one_off")
    list_filter = ("enabled", "one_off", ("task", TaskFilter), "start_time", "last_run_at")
    list_select_related = ("interval", "crontab", "solar", "clocked")
    fieldsets = (
        (None, {"fields": ("name", "regtask", "task", "enabled", "description"),
                "classes": ("extrapretty", "wide")}),
        (_("Schedule"), {"fields": ("interval", "crontab", "crontab_translation", "solar",
                                    "clocked", "start_time", "last_run_at", "one_off"),
                         "classes": ("extrapretty", "wide")}),
        (_("Arguments"), {"fields": ("args", "kwargs"),
                          "classes": ("extrapretty", "wide", "collapse", "in")}),
        (_("Execution options"), {
            "fields": ("expires", "expire_seconds", "queue", "exchange", "routing_key",
                       "priority", "headers"),
            "classes": ("extrapretty", "wide", "collapse", "in")}),
    )

    @admin.display(description=_("schedule"))
    def runs(self, obj: PeriodicTask) -> str:
        return schedule_text(obj)

    @admin.display(description=_("crontab in words"))
    def crontab_translation(self, obj: PeriodicTask) -> str:
        return crontab_in_words(obj.crontab) if obj.crontab_id else "-"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # the page's script shows the chosen crontab in words: in the operator's language
        extra_context = {**(extra_context or {}), "readable_crontabs": {
            crontab.pk: crontab_in_words(crontab) for crontab in CrontabSchedule.objects.all()}}
        return ModelAdmin.changeform_view(self, request, object_id, form_url, extra_context)


class CrontabScheduleAdmin(ScheduleAdmin):
    list_display = ("__str__", "in_words")
    fields = ("in_words", "minute", "hour", "day_of_month", "month_of_year", "day_of_week",
              "timezone")
    readonly_fields = ("in_words",)

    @admin.display(description=_("in words"))
    def in_words(self, obj: CrontabSchedule) -> str:
        return crontab_in_words(obj) if obj.pk else "-"


class ClockedScheduleAdmin(ScheduleAdmin):
    fields = ("clocked_time",)
    list_display = ("clocked_time",)


for model, model_admin in ((PeriodicTask, PeriodicTaskAdmin),
                           (CrontabSchedule, CrontabScheduleAdmin),
                           (ClockedSchedule, ClockedScheduleAdmin),
                           (IntervalSchedule, ScheduleAdmin), (SolarSchedule, ScheduleAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
