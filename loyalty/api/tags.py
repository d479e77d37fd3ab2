"""Manual tags on one member: add and remove. Rule and system tags are refused (409): the
rules and the tiers own them. Both are idempotent by nature — adding a tag the member has
changes nothing and says so; removing one they do not have answers 204 like a removal."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from members.errors import MemberError, MemberErrorCode
from members.models import Tag, TagChange
from members.services.tags import member_tags_add, member_tags_remove

from .base import ApiView, member_or_404
from .fields import SLUG, Input, Text

TAG_ERRORS = (MemberErrorCode.TAG_NOT_FOUND, MemberErrorCode.TAG_NOT_MANUAL)


class TagInputSerializer(Input):
    tag = Text(max_length=64, pattern=SLUG, help_text="The tag's code.")


class TagChangeSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    tag = serializers.CharField()
    changed = serializers.BooleanField(help_text="False when the member already had the tag.")
    tags = serializers.ListField(child=serializers.CharField(),
                                 help_text="The member's tag codes afterwards.")


def _tag(code: str) -> Tag:
    tag = Tag.objects.filter(code=code).first()
    if tag is None:
        raise MemberError(MemberErrorCode.TAG_NOT_FOUND, tag=code)
    return tag


def _answer(member_id: int, tag: Tag, changed: bool) -> Response:
    codes = sorted(Tag.objects.filter(member_tags__member_id=member_id).values_list("code", flat=True))
    return Response(TagChangeSerializer({"member": member_id, "tag": tag.code,
                                         "changed": changed, "tags": codes}).data)


class MemberTagAddView(ApiView):
    """Put a manual tag on a member (the tag is created in the admin). Adding a tag the
    member already has changes nothing (`changed: false`). Rule and system tags (tiers) are
    refused: the rules and the ladder own them."""

    required_scopes = ("members:write",)
    errors = TAG_ERRORS

    @extend_schema(operation_id="memberTagAdd", request=TagInputSerializer,
                   responses=TagChangeSerializer,
                   summary="Put a manual tag on a member", tags=["tags"])
    def post(self, request, member_id: int):
        member = member_or_404(member_id)
        serializer = TagInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = _tag(serializer.validated_data["tag"])
        added = member_tags_add(tag_id=tag.pk, member_ids=[member.pk], cause=TagChange.Cause.API)
        return _answer(member.pk, tag, added > 0)


class MemberTagRemoveView(ApiView):
    """Take a manual tag off a member. Taking off a tag the member does not have changes
    nothing and answers the same 204. Rule and system tags (tiers) are refused: the rules
    and the ladder own them."""

    required_scopes = ("members:write",)
    errors = TAG_ERRORS

    @extend_schema(operation_id="memberTagRemove",
                   responses={204: OpenApiResponse(description="The member does not have the "
                                                               "tag (any more).")},
                   summary="Take a manual tag off a member", tags=["tags"])
    def delete(self, request, member_id: int, tag: str):
        member = member_or_404(member_id)
        found = _tag(tag)
        member_tags_remove(tag_id=found.pk, member_ids=[member.pk], cause=TagChange.Cause.API)
        return Response(status=status.HTTP_204_NO_CONTENT)
