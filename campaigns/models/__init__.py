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
from .checkin import CheckIn, CheckinKind, CheckinSettings
from .contact import ContactPolicy
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
from .message import (
    VARIABLES,
    CallOutcome,
    Channel,
    ChannelThrottle,
    Message,
    MessageTemplate,
    OutboxMessage,
    Refusal,
)
from .run import CampaignMember, CampaignRun
from .targets import GradeTarget
from .tasks import ACTIVITY_GOALS, MONTHLY_GOALS, Task, TaskCompletion, TaskGoal

__all__ = ["ActionKind", "AudienceFilter", "Campaign", "CampaignAction", "CampaignBudget",
           "CampaignStatus", "CampaignVariant", "Grade", "TriggerKind", "CampaignGift",
           "VARIABLES", "Channel", "Message", "MessageTemplate", "CampaignMember",
           "CampaignRun", "FeedCursor", "GradeTarget", "Lottery", "LotteryCost", "LotteryDraw",
           "LotteryEntries", "LotteryEntryGrant", "LotteryPrize", "LotteryStatus", "PrizeKind",
           "CheckIn", "CheckinKind", "CheckinSettings",
           "ACTIVITY_GOALS", "MONTHLY_GOALS", "Task", "TaskCompletion", "TaskGoal",
           "ContactPolicy", "Refusal", "OutboxMessage", "ChannelThrottle", "CallOutcome"]
