from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class ApiErrorCode(ErrorCode):
    IDEMPOTENCY_KEY_REQUIRED = ("idempotency_key_required", 400,
                                _("This request moves points: send an Idempotency-Key header."))
    IDEMPOTENCY_KEY_INVALID = ("idempotency_key_invalid", 400,
                               _("The Idempotency-Key must be 1–255 visible ASCII characters."))
    IDEMPOTENCY_KEY_REUSED = ("idempotency_key_reused", 422,
                              _("This Idempotency-Key was used for a different request."))
    IDEMPOTENCY_IN_PROGRESS = ("idempotency_in_progress", 409,
                               _("A request with this Idempotency-Key is still being processed; "
                                 "retry later."))
    IDEMPOTENCY_RESPONSE_EXPIRED = (
        "idempotency_response_expired", 409,
        _("This Idempotency-Key was used more than {days} days ago and its response is no "
          "longer kept; the request was not run again (it answered {original_status})."))
    INVALID_SCOPE = ("invalid_scope", 400, _("Unknown scope: {scope}."))
    # input rules that a schema cannot state (they relate two fields, or today's date)
    LOOKUP_KEY_REQUIRED = ("lookup_key_required", 400,
                           _("Give one of mobile, external_id or member_no."))
    BIRTHDAY_IN_FUTURE = ("birthday_in_future", 400, _("The birthday cannot be in the future."))
    EVENT_NAME_REQUIRED = ("event_name_required", 400, _("A custom event needs a name."))
    BASKET_SKU_REPEATED = ("basket_sku_repeated", 400,
                           _("Each SKU once in a basket: add up its quantity and amount."))
    BASKET_TOO_LARGE = ("basket_too_large", 400, _("The basket total is too large."))
    POINTS_PAYMENT_ONE_OF = ("points_payment_one_of", 400,
                             _("Name the points payment by a hold or by a spend, one of the "
                               "two."))
    GIFT_REPEATED = ("gift_repeated", 400,
                     _("Each reward once among the gifts: add up its quantity."))
    INVALID_CURSOR = ("invalid_cursor", 400,
                      _("This cursor is not valid: follow the next or previous link of a page."))
    # answers of the HTTP layer, in the same shape as every other error
    BAD_REQUEST = ("bad_request", 400, _("The request could not be understood."))
    REQUEST_TOO_LARGE = ("request_too_large", 413,
                         _("The request body is too large: at most {limit} bytes."))
    SERVICE_UNAVAILABLE = ("service_unavailable", 503,
                           _("The service is briefly unavailable; retry later."))
    INTERNAL_ERROR = ("internal_error", 500,
                      _("Something went wrong on our side; quote the request id when you "
                        "report it."))


class ApiError(LoyaltyError):
    pass


class CounterErrorCode(ErrorCode):
    GIFT_NOT_AVAILABLE = ("gift_not_available", 409,
                          _("This gift was already handed over, is past its date or is "
                            "collected at another store."))
    ORDER_NOT_FOUND = ("counter_order_not_found", 404,
                       _("No sale of your stores has this order number."))
    NOTHING_TO_RETURN = ("nothing_to_return", 400, _("Pick at least one line to return."))
    FORM_STALE = ("counter_form_stale", 400,
                  _("This form is more than a day old or was altered: open it again."))
    NO_LINES = ("no_lines", 400, _("Enter at least one line with an amount."))
    BAD_AMOUNT = ("bad_amount", 400, _("Amounts are yuan with at most two decimals; "
                                       "quantities and points are whole numbers."))


class MemberCodeErrorCode(ErrorCode):
    INVALID = ("member_code_invalid", 400,
               _("This is not a member code of this programme."))
    EXPIRED = ("member_code_expired", 410,
               _("This member code has expired: ask the member to refresh the code."))
    USED = ("member_code_used", 409,
            _("This member code was already used: ask the member to refresh the code."))


class MemberCodeError(LoyaltyError):
    pass


class CounterError(LoyaltyError):
    pass


class WebhookErrorCode(ErrorCode):
    SUBSCRIPTION_NOT_FOUND = ("webhook_subscription_not_found", 404,
                              _("No webhook subscription has this id."))
    URL_INVALID = ("webhook_url_invalid", 400,
                   _("The webhook URL must be an http or https address on one line."))
    EVENT_TYPES_REQUIRED = ("webhook_event_types_required", 400,
                            _("Choose at least one event type."))


class StaffErrorCode(ErrorCode):
    KEYS_STILL_OWNED = ("staff_owns_api_keys", 409,
                        _("This account still owns {count} active API keys ({prefixes}): "
                          "reassign them to another account or revoke them before "
                          "deactivating it."))


class StaffError(LoyaltyError):
    pass
