"""The task pages: tasks as data (goal, target, lottery entries) with how many members
completed each; the completions, read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from members.admin.search import MemberSearchMixin

from ..models import Task, TaskCompletion, TaskGoal


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ("code", "name", "goal", "target_count", "target_amount", "lottery",
                  "lottery_entries", "is_active", "sort_order")

    def clean(self):
        data = super().clean()
        goal = data.get("goal")
        if goal == TaskGoal.PURCHASES and not data.get("target_count"):
            self.add_error("target_count", _("Give the number of purchases."))
        amount = data.get("target_amount")
        if goal == TaskGoal.SPEND and (amount is None or amount <= 0):
            self.add_error("target_amount", _("Give the amount to spend."))
        if amount is not None and amount < 0:
            self.add_error("target_amount", _("The amount cannot be negative."))
        if bool(data.get("lottery")) != bool(data.get("lottery_entries")):
            self.add_error("lottery_entries",
                           _("Give both the lottery and the number of entries, or neither."))
        return data


@admin.register(Task)
class TaskAdmin(ModelAdmin):
    form = TaskForm
    list_display = ("name", "code", "goal", "target_count", "target_amount", "is_active",
                    "completions")
    list_filter = ("goal", "is_active")
    search_fields = ("name", "code")
    show_facets = admin.ShowFacets.NEVER

    def has_delete_permission(self, request, obj=None):
        return False  # completions point at a task: deactivate it

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(done=Count("completions"))

    @admin.display(description=_("completions"), ordering="done")
    def completions(self, obj):
        return obj.done

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(TaskCompletion)
class TaskCompletionAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("task", "member", "period", "completed_at")
    list_filter = ("task",)
    list_select_related = ("task", "member")
    show_facets = admin.ShowFacets.NEVER
