"""The base layer's models, one module per feature; importing this package registers them all."""

from __future__ import annotations

from .access import AccessEvent, MemberNote, StoreStaff
from .activity import ActivityKind, MemberActivity
from .batch import BatchRun
from .consent import MARKETING_CHANNELS, ConsentChange, ContactChannel, MemberConsent
from .imports import TagImportJob, TagImportRow
from .members import Member, MemberChange
from .orders import Order, OrderLine
from .segments import Segment, SegmentFacts, SegmentSnapshot, SnapshotMember
from .settings import MemberSettings
from .stats import Lifecycle, MemberStats, Quadrant, RfmRun, RfmSegment
from .stores import Store
from .tags import MemberTag, Tag, TagChange, TagCondition, TagGroup, TagRule

__all__ = [
    "MemberSettings", "Store", "Member", "MemberChange", "Order", "OrderLine", "TagGroup", "Tag", "MemberTag",
    "TagChange", "TagRule", "TagCondition", "ActivityKind", "MemberActivity", "StoreStaff",
    "AccessEvent", "MemberNote", "Lifecycle", "Quadrant", "MemberStats", "RfmSegment", "RfmRun",
    "SegmentFacts", "Segment", "SegmentSnapshot", "SnapshotMember", "BatchRun",
    "TagImportJob", "TagImportRow", "ContactChannel", "MARKETING_CHANNELS", "MemberConsent",
    "ConsentChange",
]
