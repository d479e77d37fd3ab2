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
    # rewards catalog
    REWARD_NOT_FOUND = ("reward_not_found", 404, _("No such reward."))
    REWARD_NOT_AVAILABLE = ("reward_not_available", 422,
                            _("This reward cannot be redeemed now: {why}."))
    REWARD_NOT_ELIGIBLE = ("reward_not_eligible", 422,
                           _("This member does not have a tag this reward requires."))
    OUT_OF_STOCK = ("out_of_stock", 409,
                    _("Out of stock: {stock} left, {requested} requested."))
    REWARD_LIMIT_REACHED = ("reward_limit_reached", 409,
                            _("Limit reached: this member may redeem {limit} in total and has "
                              "redeemed {redeemed}."))
    REWARD_STOCK_ONLY_GROWS = ("reward_stock_only_grows", 400,
                               _("Stock can only be added to: add at least one unit."))
    PICKUP_STORE_REQUIRED = ("pickup_store_required", 400, _("Pickup needs a store."))
    REDEMPTION_NOT_FOUND = ("redemption_not_found", 404, _("No such redemption."))
    REDEMPTION_STATE = ("redemption_state", 409,
                        _("A redemption that is {state} cannot be {action}."))
    # coupons
    COUPON_NOT_FOUND = ("coupon_not_found", 404, _("No such coupon."))
    COUPON_FACE_VALUE = ("coupon_face_value_out_of_bounds", 422,
                         _("A face value of ¥{value} is outside what this template allows."))
    COUPON_TEMPLATE_NOT_FOUND = ("coupon_template_not_found", 404, _("No such coupon template."))
    COUPON_TEMPLATE_INACTIVE = ("coupon_template_inactive", 422,
                                _("This coupon template is not active or its validity is over."))
    COUPON_TEMPLATE_TERMS_FIXED = ("coupon_template_terms_fixed", 409,
                                   _("Coupons were issued from this template: its terms "
                                     "({fields}) cannot change."))
    COUPON_CODES_EXHAUSTED = ("coupon_codes_exhausted", 409,
                              _("No uploaded codes are left for this coupon."))
    COUPON_CODE_INVALID = ("coupon_code_invalid", 400,
                           _("Codes are 4 to 32 letters, digits or dashes: {code}"))
    COUPON_CODE_TAKEN = ("coupon_code_taken", 409, _("These codes already exist: {codes}"))
    COUPON_NOT_OWNED = ("coupon_not_owned", 422, _("This coupon belongs to another member."))
    COUPON_NOT_USABLE = ("coupon_not_usable", 409, _("This coupon is {state}."))
    COUPON_NOT_YET_VALID = ("coupon_not_yet_valid", 422,
                            _("This coupon is valid from {valid_from}."))
    COUPON_EXPIRED = ("coupon_expired", 422, _("This coupon expired at {valid_until}."))
    COUPON_NOT_APPLICABLE = ("coupon_not_applicable", 422,
                             _("This coupon does not apply to the basket: {why}."))


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


class PaymentErrorCode(ErrorCode):
    POINTS_PAYMENT_NOT_FOUND = ("points_payment_not_found", 404,
                                _("No such points payment for this member: {payment}."))
    POINTS_PAYMENT_MISMATCH = ("points_payment_mismatch", 422,
                               _("The points payment does not match this sale: {why}."))
    POINTS_PAYMENT_TAKEN = ("points_payment_taken", 409,
                            _("This points payment already paid order {order_no}."))
    POINTS_OVER_ORDER_SHARE = ("points_over_order_share", 422,
                               _("Points may pay at most ¥{max_cash} of this order: at most "
                                 "{usable} points."))
    POINTS_WORTH_NOTHING = ("points_worth_nothing", 422,
                            _("{points} points are worth less than one cent."))


class TransferErrorCode(ErrorCode):
    TRANSFER_KEY_REQUIRED = ("transfer_key_required", 400,
                             _("A transfer needs a key of 1 to 120 characters."))
    TRANSFER_TO_SELF = ("transfer_to_self", 422, _("A member cannot transfer points to "
                                                   "themselves."))
    TRANSFER_RECEIVER_FROZEN = ("transfer_receiver_frozen", 409,
                                _("The receiving member is frozen or closed and cannot "
                                  "receive points."))
    TRANSFER_DAILY_LIMIT = ("transfer_daily_limit", 409,
                            _("This member may send {remaining} more points today."))
    TRANSFER_RECEIVE_LIMIT = ("transfer_receive_limit", 409,
                              _("The receiving member may receive {remaining} more points "
                                "today."))
    TRANSFER_CONFLICT = ("transfer_conflict", 409,
                         _("A transfer was already recorded under this key with other "
                           "contents."))


class SpendCancelErrorCode(ErrorCode):
    SPEND_NOT_FOUND = ("spend_not_found", 404, _("No such spend for this member."))
    SPEND_PAID_ORDER = ("spend_paid_order", 409,
                        _("This spend paid order {order_no}: its points come back only "
                          "through the order's return."))
    SPEND_HAS_RECORD = ("spend_has_record", 409,
                        _("This spend is a {what}: it is cancelled there, not here."))
    SPEND_CANCEL_WINDOW_OVER = ("spend_cancel_window_over", 409,
                                _("A spend can be cancelled within {days} days; this one was "
                                  "made on {date}."))
class StoredValueErrorCode(ErrorCode):
    AMOUNT_INVALID = ("stored_value_amount_invalid", 400,
                      _("An amount of money must be positive, in yuan with at most two "
                        "decimals, and at most ¥{limit}."))
    INSUFFICIENT = ("insufficient_stored_value", 409,
                    _("Not enough stored value: ¥{available} available, ¥{requested} "
                      "requested."))
    REFUND_EXCEEDS_PRINCIPAL = ("refund_exceeds_principal", 409,
                                _("Only the principal is refunded: ¥{principal} may be "
                                  "refunded, ¥{requested} requested."))
    KEY_CONFLICT = ("stored_value_key_conflict", 409,
                    _("This key was already used for another stored-value movement."))
    RULE_NOT_FOUND = ("top_up_rule_not_found", 404, _("No such active top-up bonus rule."))


class GiftCardErrorCode(ErrorCode):
    CARD_NOT_FOUND = ("gift_card_not_found", 404, _("No such gift card, or a wrong PIN."))
    CARD_NOT_ACTIVE = ("gift_card_not_active", 409, _("This gift card is {state}."))
    CARD_EXPIRED = ("gift_card_expired", 409, _("This gift card expired at {expires_at}."))
    INSUFFICIENT = ("insufficient_gift_card_balance", 409,
                    _("Not enough on this gift card: ¥{available} available, ¥{requested} "
                      "requested."))
    TOO_MANY_ENQUIRIES = ("gift_card_enquiries_throttled", 429,
                          _("Too many attempts for this gift card or from this key; try again "
                            "in {retry_after} seconds."))
    BATCH_INVALID = ("gift_card_batch_invalid", 400,
                     _("A batch has 1 to {limit} cards of a face value above zero."))
    KEY_CONFLICT = ("gift_card_key_conflict", 409,
                    _("This key was already used for another gift-card movement."))


class TenderErrorCode(ErrorCode):
    TENDERS_DO_NOT_ADD_UP = ("tenders_do_not_add_up", 422,
                             _("The tenders pay ¥{paid}; the sale's net amount is ¥{net}."))
    POINTS_TENDER_MISMATCH = ("points_tender_mismatch", 422,
                              _("A points tender is the sale's points as cash (¥{points_cash}) "
                                "and names its points payment."))
    TENDER_INVALID = ("tender_invalid", 400, _("Tender {n}: {why}."))
