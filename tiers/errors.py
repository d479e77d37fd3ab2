from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class TierErrorCode(ErrorCode):
    NON_POSITIVE_GROWTH = ("non_positive_growth", 400, _("The growth value must be positive."))
    GROWTH_TOO_LARGE = ("growth_too_large", 400, _("At most {limit} growth at a time."))
    SOURCE_KEY_CONFLICT = ("growth_source_key_conflict", 409,
                           _("This growth was already recorded with other contents."))


class TierError(LoyaltyError):
    pass
