"""The campaigns layer's models, one module per feature."""

from .campaign import (
    ActionKind,
    AudienceFilter,
    Campaign,
    CampaignAction,
    CampaignBudget,
    CampaignStatus,
    CampaignVariant,
    Grade,
    TriggerKind,
)
from .feed import FeedCursor
from .gift import CampaignGift
from .lottery import (
    Lottery,
    LotteryCost,
    LotteryDraw,
    LotteryEntries,
    LotteryEntryGrant,
    LotteryPrize,
    LotteryStatus,
    PrizeKind,
)
from .message import VARIABLES, Channel, Message, MessageTemplate
from .run import CampaignMember, CampaignRun
from .targets import GradeTarget

__all__ = ["ActionKind", "AudienceFilter", "Campaign", "CampaignAction", "CampaignBudget",
           "CampaignStatus", "CampaignVariant", "Grade", "TriggerKind", "CampaignGift",
           "VARIABLES", "Channel", "Message", "MessageTemplate", "CampaignMember",
           "CampaignRun", "FeedCursor", "GradeTarget", "Lottery", "LotteryCost", "LotteryDraw",
           "LotteryEntries", "LotteryEntryGrant", "LotteryPrize", "LotteryStatus", "PrizeKind"]
