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
from .contact import ContactPolicy
from .feed import FeedCursor
from .gift import CampaignGift
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

__all__ = ["ActionKind", "AudienceFilter", "Campaign", "CampaignAction", "CampaignBudget",
           "CampaignStatus", "CampaignVariant", "Grade", "TriggerKind", "CampaignGift",
           "VARIABLES", "Channel", "Message", "MessageTemplate", "CampaignMember",
           "CampaignRun", "FeedCursor", "GradeTarget", "ContactPolicy", "Refusal",
           "OutboxMessage", "ChannelThrottle", "CallOutcome"]
