"""Tasks (任务): each active task with the member's progress in its current period."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from campaigns.selectors.tasks import task_progress

from .base import ApiView, member_or_404


class TaskProgressSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    goal = serializers.CharField(help_text="profile_completed, phone_bound, followed_account, "
                                           "first_purchase, first_review, purchases, spend.")
    period = serializers.CharField(help_text="once, or the Beijing month YYYY-MM.")
    done = serializers.DecimalField(max_digits=14, decimal_places=2,
                                    help_text="Purchases or yuan so far this period; 1 once "
                                              "an action goal is met.")
    target = serializers.DecimalField(max_digits=14, decimal_places=2)
    completed = serializers.BooleanField(help_text="Completed (and rewarded) this period.")


class TaskListSerializer(serializers.Serializer):
    tasks = TaskProgressSerializer(many=True)


class TaskProgressView(ApiView):
    """The active tasks and the member's progress in each one's current period ("2 of 3
    purchases this month"). A task is completed and rewarded once per period, by the events
    and sales that reach it."""

    required_scopes = ("members:read",)

    @extend_schema(operation_id="tasksProgress", responses={200: TaskListSerializer},
                   summary="A member's tasks and progress", tags=["engagement"])
    def get(self, request, member_id: int):
        member = member_or_404(member_id)
        rows = [{"code": p.task.code, "name": p.task.name, "goal": p.task.goal,
                 "period": p.period, "done": p.done, "target": p.target,
                 "completed": p.completed}
                for p in task_progress(member_id=member.pk, now=timezone.now())]
        return Response(TaskListSerializer({"tasks": rows}).data)
