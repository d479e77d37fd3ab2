from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class MemberErrorCode(ErrorCode):
    INVALID_INPUT = ("invalid_input", 400, _("The request is not valid: {reason}"))
    INVALID_MOBILE = ("invalid_mobile", 400, _("“{mobile}” is not a valid mainland mobile number."))
    MOBILE_TAKEN = ("mobile_taken", 409, _("Another member already uses this mobile number."))
    EXTERNAL_ID_TAKEN = ("external_id_taken", 409,
                         _("Another member already has this storefront id."))
    MEMBER_NOT_FOUND = ("member_not_found", 404, _("No such member."))
    MEMBER_CLOSED = ("member_closed", 409, _("This member's account is closed."))
    REFERRER_NOT_FOUND = ("referrer_not_found", 404, _("The referrer is not a member."))
    SELF_REFERRAL = ("self_referral", 400, _("A member cannot refer themselves."))
    STORE_NOT_FOUND = ("store_not_found", 404, _("No such store: {store}."))
    STORE_INACTIVE = ("store_inactive", 409, _("Store {store} is not active."))
    TAG_NOT_FOUND = ("tag_not_found", 404, _("No such tag: {tag}."))
    TAG_NOT_MANUAL = ("tag_not_manual", 409,
                      _("Tag {tag} is set by a rule or by the system; it cannot be added or "
                        "removed by hand."))
    INVALID_SEGMENT = ("invalid_segment", 400, _("The segment definition is not valid: {reason}"))
    SEGMENT_NOT_FOUND = ("segment_not_found", 404, _("No such segment: {segment}."))
    SNAPSHOT_NOT_FOUND = ("snapshot_not_found", 404, _("No such snapshot of this segment."))
    INVALID_RULE = ("invalid_rule", 400, _("The tag rule is not valid: {reason}"))
    IMPORT_EMPTY = ("import_empty", 400, _("No member numbers found."))
    IMPORT_NOT_TEXT = ("import_not_text", 400, _("The file is not UTF-8 text."))
    IMPORT_TOO_LARGE = ("import_too_large", 400,
                        _("At most {rows:,} member numbers and {megabytes} MB in one import."))
    IMPORT_NOT_FOUND = ("import_not_found", 404, _("No such tag import: {job}."))
    IMPORT_LOST = ("import_lost", 409, _("The uploaded numbers were lost when the database "
                                         "restarted; upload the file again."))


class OrderErrorCode(ErrorCode):
    INVALID_ORDER = ("invalid_order", 400, _("The order is not valid: {reason}"))
    NEGATIVE_AMOUNT = ("negative_amount", 400, _("Amounts may not be negative ({field})."))
    AMOUNTS_DO_NOT_ADD_UP = ("amounts_do_not_add_up", 400,
                             _("Line {line}: net paid must equal gross less discounts and "
                               "points used as cash."))
    ORDER_NUMBER_CONFLICT = ("order_number_conflict", 409,
                             _("Order {order_no} was already recorded at this store with "
                               "different contents."))
    SALE_NOT_FOUND = ("sale_not_found", 404, _("No sale {order_no} at store {store}."))
    LINE_NOT_FOUND = ("line_not_found", 404, _("The sale has no line {line}."))
    RETURN_EXCEEDS_SALE = ("return_exceeds_sale", 409,
                           _("Line {line}: the return is larger than what is left of the "
                             "sale (quantity {quantity_left}, amount {amount_left})."))


class ActivityErrorCode(ErrorCode):
    INVALID_ACTIVITY = ("invalid_activity", 400, _("The event is not valid: {reason}"))
    SOURCE_KEY_CONFLICT = ("event_id_conflict", 409,
                           _("Event {source_key} was already recorded with different contents."))


class MemberError(LoyaltyError):
    pass


class OrderError(LoyaltyError):
    pass


class ActivityError(LoyaltyError):
    pass
