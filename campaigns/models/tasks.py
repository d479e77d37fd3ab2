"""Tasks (任务): once-only and monthly tasks as data, completed once per period.

A task's goal is read from what the member did — the activity log (profile completed,
phone bound, official account followed, a review), the orders (a first purchase, N
purchases in a Beijing month, ¥X spent net of returns in a Beijing month). Completing it is
a `TaskCompletion` row, UNIQUE (task, member, period) — `once` for a once-only task,
`YYYY-MM` for a monthly one — and the reward is paid by the earning rules of kind "task
completed" naming the task's code (caps, budgets, explanations), plus lottery entries when
the task gives them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import append_only
from members.models import Member


class TaskGoal(models.TextChoices):
    PROFILE_COMPLETED = "profile_completed", _("Complete the profile")
    PHONE_BOUND = "phone_bound", _("Bind a phone")
    FOLLOWED_ACCOUNT = "followed_account", _("Follow the official account")
    FIRST_PURCHASE = "first_purchase", _("First purchase")
    FIRST_REVIEW = "first_review", _("First review")
    PURCHASES = "purchases", _("Buy N times in a month")
    SPEND = "spend", _("Spend ¥X in a month")


ACTIVITY_GOALS = {TaskGoal.PROFILE_COMPLETED: "profile_completed",
                  TaskGoal.PHONE_BOUND: "phone_bound",
                  TaskGoal.FOLLOWED_ACCOUNT: "followed_account",
                  TaskGoal.FIRST_REVIEW: "review"}
MONTHLY_GOALS = (TaskGoal.PURCHASES, TaskGoal.SPEND)


class Task(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True,
                            help_text=_("Earning rules of kind “task completed” name this code."))
    name = OneLineField(_("name"), max_length=100)
    goal = models.CharField(_("goal"), max_length=20, choices=TaskGoal.choices)
    target_count = models.PositiveIntegerField(
        _("purchases"), null=True, blank=True, help_text=_("Buy N times in a month: N."))
    target_amount = models.DecimalField(
        _("amount (¥)"), max_digits=12, decimal_places=2, null=True, blank=True,
        help_text=_("Spend ¥X in a month: X, net of returns."))
    lottery = models.ForeignKey("Lottery", models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("lottery entries for"))
    lottery_entries = models.PositiveIntegerField(_("lottery entries"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    created_at = models.DateTimeField(_("created at"), editable=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ("sort_order", "id")
        constraints = [
            models.CheckConstraint(condition=~Q(goal="purchases") | Q(target_count__gt=0),
                                   name="task_purchases_have_count"),
            models.CheckConstraint(condition=~Q(goal="spend") | Q(target_amount__gt=0),
                                   name="task_spend_has_amount"),
            models.CheckConstraint(condition=Q(lottery__isnull=True, lottery_entries=0)
                                   | Q(lottery__isnull=False, lottery_entries__gt=0),
                                   name="task_entries_with_lottery"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def monthly(self) -> bool:
        return self.goal in MONTHLY_GOALS


class TaskCompletion(models.Model):
    task = models.ForeignKey(Task, models.PROTECT, related_name="completions",
                             verbose_name=_("task"), db_index=False)
    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"))
    period = models.CharField(_("period"), max_length=8,
                              help_text=_("once, or the Beijing month YYYY-MM."))
    completed_at = models.DateTimeField(_("completed at"))

    class Meta:
        verbose_name = _("task completion")
        verbose_name_plural = _("task completions")
        ordering = ("-id",)
        constraints = [models.UniqueConstraint(fields=("task", "member", "period"),
                                               name="task_once_per_period")]
        triggers = [append_only()]
