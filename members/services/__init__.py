"""Writes of the base layer. Views, admin actions and tasks call these; they hold the rules."""

from .access import access_record, member_mobile_reveal, member_note_write
from .activity import ActivityInput, activity_record
from .members import MemberInput, member_check, member_register, member_set_status, member_update
from .orders import (
    LineInput,
    ReturnInput,
    ReturnLineInput,
    SaleInput,
    order_record_return,
    order_record_sale,
)
from .tags import member_tags_add, member_tags_remove

__all__ = [
    "access_record", "member_mobile_reveal", "member_note_write",
    "ActivityInput", "activity_record",
    "MemberInput", "member_check", "member_register", "member_update", "member_set_status",
    "LineInput", "ReturnInput", "ReturnLineInput", "SaleInput",
    "order_record_return", "order_record_sale",
    "member_tags_add", "member_tags_remove",
]
