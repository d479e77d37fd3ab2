"""The points layer's models, one module per feature; importing this package registers them all."""

from __future__ import annotations

from .coupons import CodeSource, Coupon, CouponEvent, CouponKind, CouponTemplate
from .gift_cards import GiftCard, GiftCardBatch, GiftCardEntry
from .holds import PointsHold
from .ledger import (
    AdjustReason,
    EntryKind,
    ExpiryNotice,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsLotMovement,
)
from .liability import PointsMonthTotal, PointsRollupCursor
from .partners import ExchangeDirection, PartnerDailyTotal, PartnerExchange, PartnerProgramme
from .payments import PointsPayment
from .rewards import Fulfilment, RedemptionChange, Reward, RewardKind, RewardRedemption
from .rules import (
    Beneficiary,
    CapPeriod,
    EarningRule,
    EntryLine,
    Formula,
    Rounding,
    RuleAward,
    RuleBudget,
    RuleEvent,
)
from .settings import PointsSettings
from .stored_value import (
    StoredValueAccount,
    StoredValueBonusLot,
    StoredValueBonusMovement,
    StoredValueEntry,
    StoredValueKind,
    TopUpBonusRule,
)
from .tenders import OrderTender, TenderKind
from .transfers import PointsTransfer
from .verify import LedgerCheckpoint, LedgerVerification

__all__ = [
    "PointsSettings", "PointsAccount", "EntryKind", "AdjustReason", "PointsEntry", "PointsLot",
    "PointsLotMovement", "RuleEvent", "Formula", "Rounding", "Beneficiary", "CapPeriod",
    "EarningRule", "RuleBudget", "RuleAward", "EntryLine", "RewardKind", "Reward", "Fulfilment",
    "RewardRedemption", "CouponKind", "CodeSource", "CouponTemplate", "Coupon", "CouponEvent",
    "PointsHold", "PointsPayment", "PointsMonthTotal", "PointsRollupCursor", "PartnerProgramme",
    "ExchangeDirection", "PartnerExchange", "PartnerDailyTotal", "LedgerCheckpoint",
    "LedgerVerification", "ExpiryNotice", "RedemptionChange", "PointsTransfer",
    "StoredValueAccount",
    "StoredValueBonusLot", "StoredValueBonusMovement", "StoredValueEntry", "StoredValueKind",
    "TopUpBonusRule", "GiftCard", "GiftCardBatch", "GiftCardEntry", "OrderTender", "TenderKind",
]
