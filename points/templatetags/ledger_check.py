"""`{% ledger_check_panel %}`: the last result of `verify_ledger`, a small panel for the
admin's home page, for those who may read ledger checks."""

from __future__ import annotations

from django import template
from django.utils import timezone

from ..selectors.verify import ledger_check_last

register = template.Library()

SHOWN = 20  # accounts listed on the panel; the command and the run's record list them all


@register.inclusion_tag("admin/points/ledger_check_panel.html", takes_context=True)
def ledger_check_panel(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("points.view_ledgerverification"):
        return {"visible": False}
    check = ledger_check_last(now=timezone.now())
    differences = check.run.differences if check.run else []
    return {"visible": True, "check": check, "run": check.run,
            "differences": differences[:SHOWN], "more": max(len(differences) - SHOWN, 0)}
