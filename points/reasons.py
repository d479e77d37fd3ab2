"""The reason on a ledger entry as an operator reads it.

Services store what happened as a short code or a fixed pattern — the rule event
("sale", "checkin", "registration"), "return", "expiry", "partner <code>",
"reward <id>: <name>" — so the ledger stays the same whatever the console's language;
this turns it into words at display time. An operator's own reason (an adjustment) and a
custom event's name are shown as written."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from .models.rules import RuleEvent

FIXED = {
    "return": _("Return"),
    "expiry": _("Points expired"),
    "return window over": _("Return window over: points available"),
    "hold expired": _("Hold expired"),
}
PATTERNS = (
    (re.compile(r"partner (?P<partner>[\w-]+)"), _("Partner exchange (%(partner)s)")),
    (re.compile(r"reward \d+: (?P<reward>.*)", re.DOTALL), _("Reward redeemed: %(reward)s")),
    (re.compile(r"reward cancelled: (?P<why>.*)", re.DOTALL), _("Redemption cancelled: %(why)s")),
)


def reason_text(reason: str) -> str:
    """"checkin" → "签到", "partner AIRLINE" → "合作方兑换（AIRLINE）", "补偿" → "补偿"."""
    if not reason:
        return ""
    if reason in FIXED:
        return str(FIXED[reason])
    if reason in RuleEvent.values:
        return str(RuleEvent(reason).label)
    for pattern, words in PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            return str(words % match.groupdict())
    return reason
