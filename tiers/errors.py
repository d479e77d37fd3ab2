from django.utils.translation import gettext_lazy as _

from core.errors import ErrorCode, LoyaltyError


class TierErrorCode(ErrorCode):
    NON_POSITIVE_GROWTH = ("non_positive_growth", 400, _("The growth value must be positive."))
    GROWTH_TOO_LARGE = ("growth_too_large", 400, _("At most {limit} growth at a time."))
    SOURCE_KEY_CONFLICT = ("growth_source_key_conflict", 409,
                           _("This growth was already recorded with other contents."))
    # benefits
    GRANT_NOT_FOUND = ("benefit_grant_not_found", 404, _("No such benefit grant for this member."))
    GRANT_ALREADY_CLAIMED = ("benefit_grant_already_claimed", 409,
                             _("This benefit was already claimed."))
    GRANT_NOT_CLAIMED = ("benefit_grant_not_claimed", 409,
                         _("Claim this benefit before using it."))
    GRANT_EXPIRED = ("benefit_grant_expired", 409, _("This benefit has expired."))
    GRANT_USED_UP = ("benefit_grant_used_up", 409,
                     _("Only {remaining} of this benefit are left to use."))
    NON_POSITIVE_UNITS = ("non_positive_units", 400, _("Use at least one unit."))
    USE_KEY_CONFLICT = ("benefit_use_key_conflict", 409,
                        _("This use was already recorded with other contents."))
    # paid membership
    PLAN_NOT_FOUND = ("paid_plan_not_found", 404, _("No paid plan {plan} is on sale."))
    MEMBER_NOT_ACTIVE = ("paid_member_not_active", 409, _("Only an active member can buy a plan."))
    PURCHASE_ID_CONFLICT = ("paid_purchase_id_conflict", 409,
                            _("This purchase id was already recorded with other contents."))
    NEGATIVE_AMOUNT = ("paid_amount_negative", 400, _("The amount paid cannot be negative."))
    AMOUNT_TOO_LARGE = ("paid_amount_too_large", 400,
                        _("The amount paid can be at most ¥{limit}."))
    INVALID_AMOUNT = ("paid_amount_invalid", 400, _("The amount paid must be a number."))
    # manual tiers
    TIER_NOT_FOUND = ("tier_not_found", 404, _("No such active tier."))
    MANUAL_TIER_REASON = ("manual_tier_reason_required", 400,
                          _("A manual tier needs a reason and an operator."))
    MANUAL_TIER_END = ("manual_tier_end_invalid", 400,
                       _("A manual tier needs an end after now."))
    MANUAL_TIER_MEMBER = ("manual_tier_member_closed", 409,
                          _("A closed member cannot be given a tier."))


class TierError(LoyaltyError):
    pass
