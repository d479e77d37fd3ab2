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


class HoldErrorCode(ErrorCode):
    HOLD_NOT_FOUND = ("hold_not_found", 404, _("No such hold."))
    HOLD_CLOSED = ("hold_closed", 409, _("This hold is closed ({state})."))
    HOLD_EXPIRED = ("hold_expired", 409, _("This hold has expired; its points are returned."))
    CAPTURE_EXCEEDS_HOLD = ("capture_exceeds_hold", 422,
                            _("Cannot capture {requested} points: the hold is for {held}."))
    HOLD_TTL_INVALID = ("hold_ttl_invalid", 400,
                        _("A hold lasts between 1 minute and {limit} minutes."))


class PartnerErrorCode(ErrorCode):
    PARTNER_NOT_FOUND = ("partner_not_found", 404, _("No such partner programme."))
    PARTNER_INACTIVE = ("partner_inactive", 409,
                        _("Exchanges with this partner are closed."))
    EXCHANGE_TOO_SMALL = ("exchange_too_small", 422,
                          _("This exchange is worth less than one point at the partner's rate."))
    MEMBER_DAILY_LIMIT = ("member_daily_limit", 409,
                          _("This member may exchange {remaining} more points with this partner "
                            "today."))
    PARTNER_DAILY_LIMIT = ("partner_daily_limit", 409,
                           _("Today's exchange limit with this partner is reached: {remaining} "
                             "points left."))
    EXCHANGE_CONFLICT = ("exchange_conflict", 409,
                         _("This partner transaction was already recorded with other contents."))
