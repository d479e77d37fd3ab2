from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


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


class CampaignError(LoyaltyError):
    pass
