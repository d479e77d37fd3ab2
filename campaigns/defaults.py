"""The KPI targets each grade starts with (DESIGN.md §2.4): sales against a normal day,
overall discount, and how often a campaign of the grade may run. Operators edit them."""

from __future__ import annotations

from decimal import Decimal

from .models import GradeTarget

# grade, sales vs a normal day (×), overall discount (share of gross), campaigns, per
GRADE_TARGETS = [("S", Decimal("5"), Decimal("0.20"), 1, "month"),
                 ("A", Decimal("2"), Decimal("0.18"), 2, "month"),
                 ("B", Decimal("1.5"), Decimal("0.05"), 2, "week")]


def ensure_default_grade_targets() -> None:
    """The grades' starting targets, where a grade has none (a fresh install has them from
    migration 0006; a test database emptied by a flushing test does not)."""
    for grade, multiple, discount, count, period in GRADE_TARGETS:
        GradeTarget.objects.get_or_create(grade=grade, defaults={
            "sales_multiple": multiple, "discount_share": discount,
            "max_campaigns": count, "period": period})
