from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class ApiErrorCode(ErrorCode):
    IDEMPOTENCY_KEY_REQUIRED = ("idempotency_key_required", 400,
                                _("This request moves points: send an Idempotency-Key header."))
    IDEMPOTENCY_KEY_INVALID = ("idempotency_key_invalid", 400,
                               _("The Idempotency-Key must be 1–255 visible characters."))
    IDEMPOTENCY_KEY_REUSED = ("idempotency_key_reused", 422,
                              _("This Idempotency-Key was used for a different request."))
    IDEMPOTENCY_IN_PROGRESS = ("idempotency_request_in_progress", 409,
                               _("A request with this Idempotency-Key is still being processed; "
                                 "retry later."))
    INVALID_SCOPE = ("invalid_scope", 400, _("Unknown scope: {scope}."))


class ApiError(LoyaltyError):
    pass
