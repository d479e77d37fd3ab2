"""What campaigns wrote, read-only: occasions, who each reached, gifts, queued messages."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin, ScaleAdmin
from members.admin.search import MemberSearchMixin

from ..models import CampaignGift, CampaignMember, CampaignRun, Message, OutboxMessage


@admin.register(CampaignRun)
class CampaignRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("campaign", "key", "occasion", "phase", "audience", "control",
                    "started_at", "finished_at")
    list_filter = ("phase",)
    show_facets = admin.ShowFacets.NEVER


@admin.register(CampaignMember)
class CampaignMemberAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("campaign", "occasion", "member", "variant", "state", "acted_at")
    list_filter = ("state",)
    list_select_related = ("campaign", "member", "variant")


@admin.register(CampaignGift)
class CampaignGiftAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    list_display = ("campaign", "member", "name", "store", "collect_by", "collected_at",
                    "handed_over_by", "handed_over_store")
    list_select_related = ("campaign", "member", "store", "handed_over_by",
                           "handed_over_store")


@admin.register(Message)
class MessageAdmin(MemberSearchMixin, ReadOnlyAdminMixin, ScaleAdmin):
    """Every touch: queued, sent, delivered, failed, refused (with the reason) or
    dead-lettered (with the last error)."""

    list_display = ("member", "channel", "template", "campaign", "occasion", "kind", "state",
                    "refusal", "attempts", "last_error", "cost", "is_test", "created_at")
    list_filter = ("channel", "state", "refusal", "kind", "is_test")
    list_select_related = ("member", "template", "campaign")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, ScaleAdmin):
    """What the default channel backends recorded instead of sending."""

    list_display = ("message_id", "channel", "recipient", "body", "recorded_at")
    list_filter = ("channel",)
