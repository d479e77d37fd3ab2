"""Message templates and test sends.

A template's `{variables}` are checked when it is saved: only the names in
campaigns.models.VARIABLES, which the message action fills in SQL. A test send renders the
campaign's message for a staff member's own member record (found by the mobile on the
staff account's member link, see `campaign_test_send`) and queues it as a test message —
delivery treats it like any other, and it never counts as the member's occasion nor against
the contact cap (the contact rules are for members, the test goes to the staff member).
"""

from __future__ import annotations

import re
import string
from datetime import datetime

from django.utils.translation import gettext as _

from core.clock import resolve_now
from members.models import Member

from ..errors import CampaignError, CampaignErrorCode
from ..models import VARIABLES, ActionKind, Campaign, CampaignAction, Message, MessageTemplate

_FIELD = re.compile(r"^[a-z_]+$")


def message_body_problems(body: str) -> list[str]:
    """Unknown or malformed `{variables}` in a template's text."""
    try:
        fields = [name for _text, name, _spec, _conv in string.Formatter().parse(body or "")
                  if name is not None]
    except ValueError:
        return [_("Braces must come in pairs around a variable name, e.g. {name}.")]
    problems = []
    for name in fields:
        if not _FIELD.match(name) or name not in VARIABLES:
            problems.append(_("Unknown variable {%(name)s}; use one of: %(names)s.")
                            % {"name": name, "names": ", ".join(VARIABLES)})
    if not (body or "").strip():
        problems.append(_("The text is empty."))
    return problems


# which variables a variant's actions fill in: the others are always there
VARIABLES_BY_ACTION = {"points": ("points",), "coupon": ("coupon_value", "coupon_valid_until"),
                       "gift": ("gift", "collect_by")}
ALWAYS = ("name", "member_no", "campaign")


def message_variables(body: str) -> set[str]:
    try:
        return {name for _text, name, _spec, _conv in string.Formatter().parse(body or "")
                if name}
    except ValueError:
        return set()


def message_variables_missing(body: str, action_kinds: set[str]) -> list[str]:
    """The template's variables that a variant with these actions would leave blank (a
    `{coupon_value}` without a coupon action): an error when the variant is saved, never a
    blank at send time."""
    given = set(ALWAYS)
    for kind in action_kinds:
        given.update(VARIABLES_BY_ACTION.get(kind, ()))
    return sorted(message_variables(body) - given)


def message_render(body: str, variables: dict) -> str:
    """The text a member reads: each variable replaced, a missing one left empty."""
    return string.Formatter().vformat(body, (), {name: variables.get(name, "")
                                                 for name in VARIABLES})


def message_template_save(*, template: MessageTemplate,
                          now: datetime | None = None) -> MessageTemplate:
    problems = message_body_problems(template.body)
    if problems:
        raise CampaignError(CampaignErrorCode.INVALID_TEMPLATE, reason=" ".join(problems))
    if template.pk is None:
        template.created_at = resolve_now(now)
    template.save()
    return template


def campaign_test_send(*, campaign: Campaign, mobile: str,
                       now: datetime | None = None) -> tuple[Message, str]:
    """Queue the campaign's first message for the member with this mobile (a staff
    member's own record) as a test, with sample values for what the campaign would give;
    returns the message and its rendered text."""
    now = resolve_now(now)
    action = (CampaignAction.objects.filter(variant__campaign=campaign,
                                            kind=ActionKind.MESSAGE)
              .select_related("message_template").order_by("variant__code", "id").first())
    if action is None:
        raise CampaignError(CampaignErrorCode.NO_MESSAGE)
    member = Member.objects.filter(mobile=mobile).exclude(status=Member.Status.CLOSED).first()
    if member is None:
        raise CampaignError(CampaignErrorCode.NO_MEMBER_RECORD)
    siblings = list(CampaignAction.objects.filter(variant=action.variant_id)
                    .select_related("coupon_template"))
    variables = {"name": member.name, "member_no": member.member_no, "campaign": campaign.name}
    for other in siblings:
        if other.kind == ActionKind.POINTS:
            variables["points"] = other.points
        elif other.kind == ActionKind.COUPON:
            template = other.coupon_template
            value = template.face_value_min or template.amount
            variables["coupon_value"] = str(value) if value is not None else ""
        elif other.kind == ActionKind.GIFT:
            variables["gift"] = other.gift_name
    template = action.message_template
    message = Message.objects.create(member=member, channel=template.channel, template=template,
                                     variables=variables, campaign=campaign, occasion="test",
                                     is_test=True, kind=template.kind, created_at=now,
                                     due_at=now, next_attempt_at=now)
    from .delivery import messages_deliver_soon  # delivery renders through this module
    from .sms import render_for_channel

    messages_deliver_soon()
    return message, render_for_channel(template.channel, template.kind, template.body,
                                       template.signature, variables)
