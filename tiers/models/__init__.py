"""The tiers layer's models, one module per feature; importing this package registers them all."""

from __future__ import annotations

from .benefits import (
    Benefit,
    BenefitAttachment,
    BenefitGrant,
    BenefitKind,
    BenefitUse,
    GrantCoupon,
    GrantPeriod,
    GrantStatus,
    MultiplierBonus,
)
from .growth import GrowthAccount, GrowthEntry, GrowthKind
from .ladder import ChangeReason, EndPolicy, ManualReason, ManualTier, Tier, TierChange
from .paid import (
    PaidLapse,
    PaidMembership,
    PaidPlan,
    PaidPurchase,
    PaidStatus,
    PurchaseChannel,
    PurchaseKind,
)
from .settings import Recalculation, TierSettings

__all__ = [
    "Recalculation", "TierSettings", "EndPolicy", "Tier", "ChangeReason", "TierChange",
    "GrowthAccount", "GrowthKind", "GrowthEntry", "PaidPlan", "PaidStatus", "PaidMembership",
    "PurchaseKind", "PurchaseChannel", "PaidPurchase", "PaidLapse", "BenefitKind", "GrantPeriod", "Benefit",
    "BenefitAttachment", "GrantStatus", "BenefitGrant", "BenefitUse", "GrantCoupon",
    "MultiplierBonus", "ManualReason", "ManualTier",
]
