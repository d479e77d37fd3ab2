"""The rules a new programme starts with; an operator edits or retires them in the admin."""

from __future__ import annotations

DEFAULT_RULES = [
    # rule_key, name, event, formula, fixed, per_yuan, cap_period, cap_times, priority
    ("purchase", "消费积分 Purchase points", "sale", "per_yuan", 0, None, "", None, 100),
    ("registration", "注册有礼 Welcome points", "registration", "fixed", 100, 0, "lifetime", 1, 100),
    ("follow-account", "关注公众号 Follow the official account", "followed_account", "fixed", 50, 0,
     "lifetime", 1, 100),
    ("complete-profile", "完善资料 Complete the profile", "profile_completed", "fixed", 50, 0,
     "lifetime", 1, 100),
    ("bind-phone", "绑定手机 Bind a phone", "phone_bound", "fixed", 20, 0, "lifetime", 1, 100),
    ("daily-checkin", "每日签到 Daily check-in", "checkin", "fixed", 5, 0, "day", 1, 100),
]


def ensure_default_rules(*, points_per_yuan=1) -> None:
    """Create the default rules that are missing (by rule code); existing ones are left as
    the operator made them."""
    from django.utils import timezone

    from .models import EarningRule

    for key, name, event, formula, fixed, rate, period, times, priority in DEFAULT_RULES:
        if EarningRule.objects.filter(rule_key=key).exists():
            continue
        EarningRule.objects.create(
            rule_key=key, version=1, name=name, event=event, formula=formula,
            fixed_points=fixed, points_per_yuan=points_per_yuan if rate is None else rate,
            cap_period=period, cap_times=times, priority=priority, created_at=timezone.now())
