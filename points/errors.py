from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class PointsErrorCode(ErrorCode):
    NON_POSITIVE_AMOUNT = ("non_positive_amount", 400, _("The number of points must be positive."))
    AMOUNT_TOO_LARGE = ("amount_too_large", 400, _("At most {limit} points at a time."))
    INSUFFICIENT_POINTS = ("insufficient_points", 409,
                           _("Not enough points: {available} available, {requested} requested."))
    MEMBER_FROZEN = ("member_frozen", 409,
                     _("This member is frozen and cannot earn or spend points."))
    REASON_REQUIRED = ("reason_required", 400, _("A reason is required."))
    OPERATOR_REQUIRED = ("operator_required", 400, _("An operator is required."))
    SOURCE_KEY_CONFLICT = ("source_key_conflict", 409,
                           _("This operation was already recorded with other contents."))


class PointsError(LoyaltyError):
    pass
