from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, parsers
from rest_framework.views import APIView

from core.actor import Actor, reset_actor, set_actor
from core.errors import ErrorCode
from members.errors import MemberError, MemberErrorCode
from members.models import Member

from .auth import ApiKeyAuthentication, ApiKeyRateThrottle, HasScopes


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing a body nested too deeply for Python's decoder, which
    raises RecursionError (not ValueError) and would otherwise answer 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError() from None  # DRF's own "Malformed request."


class ApiView(APIView):
    # One view per operation; its docstring is the operation's description in the schema.
    # Subclasses set `required_scopes`; for writes that move points `idempotency =
    # "required"` (others may take the header: "optional"); and in `errors` the business
    # failures (error codes) the operation can answer, which the schema lists by status.

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScopes]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes = [JSONParser]
    required_scopes: tuple[str, ...] = ()
    idempotency: str | None = None
    errors: tuple[ErrorCode, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        # the key is known once DRF has authenticated (in initial); until the response is
        # made, every write records it and its owner (core.actor)
        self._actor_token = set_actor(None)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            reset_actor(self._actor_token)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.auth
        if key is not None:
            set_actor(Actor(user_id=key.owner_id, api_key_id=key.pk))


MAX_ID = 2**63 - 1


def member_or_404(member_id: int) -> Member:
    """The member a path names: 404 `not_found` when there is none."""
    if not 0 < member_id <= MAX_ID:
        raise Http404
    return get_object_or_404(Member, pk=member_id)


def body_member(member_id: int) -> Member:
    """The member a request body names: 404 `member_not_found` when there is none."""
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
    return member
