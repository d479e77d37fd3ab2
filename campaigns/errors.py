"""Error codes of the campaigns layer: campaigns and their triggers."""

from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class TriggerErrorCode(ErrorCode):
    UNKNOWN_TRIGGER = ("unknown_trigger", 400, _("There is no campaign trigger “{kind}”."))
    INVALID_TRIGGER = ("invalid_trigger", 400,
                       _("The campaign trigger is not valid: {reason}"))


class TriggerError(LoyaltyError):
    pass


class CampaignErrorCode(ErrorCode):
    CAMPAIGN_NOT_FOUND = ("campaign_not_found", 404, _("No such campaign."))
    INVALID_CAMPAIGN = ("invalid_campaign", 400, _("The campaign is not valid: {reason}"))
    BAD_TRANSITION = ("campaign_bad_transition", 409,
                      _("A campaign that is {status} cannot be {action}."))
    INVALID_TEMPLATE = ("invalid_message_template", 400,
                        _("The message text is not valid: {reason}"))
    NO_MESSAGE = ("campaign_has_no_message", 409, _("This campaign sends no message."))
    NO_MEMBER_RECORD = ("staff_has_no_member", 409,
                        _("Your account has no member record to send a test to."))
    CALL_TASK_INVALID = ("call_task_invalid", 400, _("Choose how the call went."))
    CALL_TASK_CLOSED = ("call_task_closed", 409,
                        _("This call task is closed or not for this store."))


class CampaignError(LoyaltyError):
    pass
