"""Dynamic member codes: the member's app shows a code that changes every minute; the counter
scans it to find the member. A code is signed (django.core.signing, its own salt), names the
member, a random nonce and when it was issued; it is accepted within 60 seconds and once —
the nonce is recorded under a UNIQUE constraint, so a screenshot or a second scan, in any
process, is refused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.db import IntegrityError, transaction

from core.clock import resolve_now
from members.errors import MemberError, MemberErrorCode
from members.models import Member

from ..errors import MemberCodeError, MemberCodeErrorCode
from ..models import MemberCodeUse

SALT = "loyalty.member-code"
VALID = timedelta(seconds=60)
SKEW = timedelta(seconds=5)  # a code issued by another server whose clock runs a little ahead
PREFIX = "MC1:"


@dataclass(frozen=True)
class MemberCode:
    code: str
    member_id: int
    expires_at: datetime


def looks_like_member_code(term: str) -> bool:
    return term.strip().startswith(PREFIX)


def member_code_issue(*, member_id: int, now: datetime | None = None) -> MemberCode:
    """A code for the member, valid 60 seconds from `now`. Writes nothing: the code carries
    all it needs; only its use is recorded."""
    now = resolve_now(now)
    member = Member.objects.filter(pk=member_id).only("status").first()
    if member is None:
        raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
    if member.status == Member.Status.CLOSED:
        raise MemberError(MemberErrorCode.MEMBER_CLOSED)
    payload = [member_id, secrets.token_hex(12), int(now.timestamp())]
    return MemberCode(code=PREFIX + signing.dumps(payload, salt=SALT, compress=False),
                      member_id=member_id, expires_at=now.replace(microsecond=0) + VALID)


def member_code_use(*, code: str, now: datetime | None = None) -> int:
    """The member a scanned code names, once: a code that is not ours is `member_code_invalid`,
    one older than 60 seconds `member_code_expired`, one already used `member_code_used`."""
    now = resolve_now(now)
    code = code.strip()
    if not code.startswith(PREFIX) or len(code) > 200:
        raise MemberCodeError(MemberCodeErrorCode.INVALID)
    try:
        member_id, nonce, issued = signing.loads(code[len(PREFIX):], salt=SALT)
        issued_at = datetime.fromtimestamp(int(issued), tz=now.tzinfo)
    except (signing.BadSignature, ValueError, TypeError, OverflowError) as error:
        raise MemberCodeError(MemberCodeErrorCode.INVALID) from error
    if not isinstance(member_id, int) or not isinstance(nonce, str) or len(nonce) > 32:
        raise MemberCodeError(MemberCodeErrorCode.INVALID)
    if not issued_at - SKEW <= now <= issued_at + VALID:
        raise MemberCodeError(MemberCodeErrorCode.EXPIRED)
    member = Member.objects.filter(pk=member_id).only("status").first()
    if member is None:
        raise MemberCodeError(MemberCodeErrorCode.INVALID)
    if member.status == Member.Status.CLOSED:
        raise MemberError(MemberErrorCode.MEMBER_CLOSED)
    try:
        with transaction.atomic():
            MemberCodeUse.objects.create(nonce=nonce, member_id=member_id, used_at=now)
    except IntegrityError as error:
        raise MemberCodeError(MemberCodeErrorCode.USED) from error
    return member_id
