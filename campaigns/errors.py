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


class LotteryErrorCode(ErrorCode):
    LOTTERY_NOT_FOUND = ("lottery_not_found", 404, _("No such lottery."))
    LOTTERY_NOT_OPEN = ("lottery_not_open", 409, _("The lottery is not open for draws."))
    LOTTERY_BAD_TRANSITION = ("lottery_bad_transition", 409,
                              _("A lottery that is {status} cannot be {action}."))
    LOTTERY_INVALID = ("lottery_invalid", 400, _("The lottery is not valid: {reason}"))
    DAILY_LIMIT_REACHED = ("lottery_daily_limit_reached", 409,
                           _("No more draws today: at most {limit} a day."))
    MEMBER_LIMIT_REACHED = ("lottery_member_limit_reached", 409,
                            _("No more draws in this lottery: at most {limit}."))
    NO_ENTRIES = ("lottery_no_entries", 409, _("No lottery entries left."))
    DRAW_ID_CONFLICT = ("draw_id_conflict", 409,
                        _("This draw id was already used for another member or lottery."))
    INVALID_DRAW_ID = ("invalid_draw_id", 400,
                       _("A draw id is 1 to 100 printable ASCII characters without spaces."))


class LotteryError(LoyaltyError):
    pass


class CheckinErrorCode(ErrorCode):
    ALREADY_CHECKED_IN = ("already_checked_in", 409, _("The member already checked in on {day}."))
    MAKEUP_NOT_ALLOWED = ("makeup_not_allowed", 400,
                          _("A make-up check-in is for a missed day earlier this month."))
    MAKEUP_LIMIT_REACHED = ("makeup_limit_reached", 409,
                            _("No make-up check-ins left this month: at most {limit}."))


class CheckinError(LoyaltyError):
    pass
