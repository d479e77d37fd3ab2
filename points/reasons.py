"""The reason on a ledger entry as an operator reads it.

Services store what happened as a short code or a fixed pattern — the rule event
("sale", "checkin", "registration"), "return", "expiry", "partner <code>",
"reward <id>: <name>" — so the ledger stays the same whatever the console's language;
this turns it into words at display time. What a person typed (an adjustment's, a spend's or
a cancellation's reason) is never on the entry but in the member note it points at; a custom
event's name is shown as written."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from .models import AdjustReason
from .models.rules import RuleEvent

FIXED = {
    "return": _("Return"),
    "expiry": _("Points expired"),
    "return window over": _("Return window over: points available"),
    "hold expired": _("Hold expired"),
    "reward cancelled": _("Redemption cancelled"),
    "transfer out": _("Points given to another member"),
    "transfer in": _("Points received from another member"),
    "spend cancelled": _("Spend cancelled: points returned"),
}
PATTERNS = (
    (re.compile(r"partner (?P<partner>[\w-]+)"), _("Partner exchange (%(partner)s)")),
    (re.compile(r"reward \d+: (?P<reward>.*)", re.DOTALL), _("Reward redeemed: %(reward)s")),
)


def reason_text(reason: str) -> str:
    """"checkin" → "签到", "partner AIRLINE" → "合作方兑换（AIRLINE）", "补偿" → "补偿"."""
    if not reason:
        return ""
    if reason in FIXED:
        return str(FIXED[reason])
    if reason in RuleEvent.values:
        return str(RuleEvent(reason).label)
    if reason in AdjustReason.values:
        return str(AdjustReason(reason).label)
    for pattern, words in PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            return str(words % match.groupdict())
    return reason


def reason_with_note(reason: str, note) -> str:
    """The row's reason in words, then what the person typed (its note) unless erased:
    "Redemption cancelled · 缺货"."""
    text = note.text if note is not None and note.erased_at is None else ""
    return " · ".join(part for part in (reason_text(reason), text) if part)
