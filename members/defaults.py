"""The RFM segments a programme starts with (data: operators rename and re-range them under
RFM segments). Migration 0004 loads the same list; tests that flush the database put them
back with ensure_default_rfm_segments()."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from .models import RfmSegment

# code, name, priority, R, F, M ranges on the default five levels; the last catches all
RFM_SEGMENTS = [
    ("champions", "冠军客户", 10, (4, 5), (4, 5), (4, 5)),
    ("loyal", "忠诚客户", 20, (3, 5), (3, 5), (1, 5)),
    ("new", "新客户", 30, (4, 5), (1, 1), (1, 5)),
    ("promising", "潜力客户", 40, (3, 5), (1, 2), (1, 5)),
    ("at_risk", "流失风险客户", 50, (1, 2), (3, 5), (1, 5)),
    ("hibernating", "沉睡客户", 60, (1, 2), (1, 2), (1, 5)),
    ("others", "一般客户", 100, (1, 5), (1, 5), (1, 5)),
]


# The starting segments' names in the console's languages: the name stored above is the
# Chinese one; while an operator has not renamed a segment, the console shows this label.
RFM_SEGMENT_LABELS = {
    "champions": pgettext_lazy("RFM segment", "Champions"),
    "loyal": pgettext_lazy("RFM segment", "Loyal"),
    "new": pgettext_lazy("RFM segment", "New customers"),
    "promising": pgettext_lazy("RFM segment", "Promising"),
    "at_risk": pgettext_lazy("RFM segment", "At risk of churning"),
    "hibernating": pgettext_lazy("RFM segment", "Hibernating"),
    "others": pgettext_lazy("RFM segment", "Others"),
}
SEEDED_NAMES = {code: name for code, name, *_ranges in RFM_SEGMENTS}


def ensure_default_rfm_segments() -> None:
    for code, name, priority, r, f, m in RFM_SEGMENTS:
        RfmSegment.objects.get_or_create(code=code, defaults=dict(
            name=name, priority=priority, r_min=r[0], r_max=r[1], f_min=f[0], f_max=f[1],
            m_min=m[0], m_max=m[1]))
