from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class TriggerErrorCode(ErrorCode):
    UNKNOWN_TRIGGER = ("unknown_trigger", 400, _("There is no campaign trigger “{kind}”."))
    INVALID_TRIGGER = ("invalid_trigger", 400,
                       _("The campaign trigger is not valid: {reason}"))


class TriggerError(LoyaltyError):
    pass
