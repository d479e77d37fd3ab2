from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction

from core.clock import local_date, resolve_now
from core.phones import normalise_mobile

from ..errors import MemberError, MemberErrorCode
from ..models import Member, MemberChange, Store
from ..regions import region_normalise
from .consent import consent_changes_check, consent_set_locked, member_consent_all
from .tag_rules import tag_rules_refresh_member

_UNSET = object()


@dataclass(frozen=True)
class MemberInput:
    """What a storefront, a clerk or an import says about a member. `None` means not given."""

    mobile: str | None = None
    name: str | None = None
    gender: str | None = None
    birthday: date | None = None
    region: str | None = None
    home_store_code: str | None = None
    source_channel: str | None = None
    referrer_id: int | None = None
    external_id: str | None = None
    marketing_consent: bool | None = None
    consent_source: str | None = None
    # per channel ({"sms": True, …}); given with `marketing_consent`, these win
    consents: dict[str, bool] | None = None
    do_not_disturb: bool | None = None
    contact_whitelist: bool | None = None
    enrolled_by_id: int | None = None


def referrer_check(*, member_id: int | None, referrer_id: object) -> int:
    """The referrer rule, for registrations, profile updates and referral events alike: a
    referrer is another member who exists. Oneself is `self_referral`; anything else that
    is not a member's id is `referrer_not_found`. Returns the referrer's id."""
    if member_id is not None and referrer_id == member_id:
        raise MemberError(MemberErrorCode.SELF_REFERRAL)
    if (not isinstance(referrer_id, int) or isinstance(referrer_id, bool)
            or not 0 < referrer_id < 2**63 or not Member.objects.filter(pk=referrer_id).exists()):
        raise MemberError(MemberErrorCode.REFERRER_NOT_FOUND)
    return referrer_id


def next_member_no() -> str:
    """Member numbers come from a database sequence: unique without a lock, 10 digits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('members_member_no_seq')")
        (value,) = cursor.fetchone()
    return f"{value:010d}"


def _store_id(code: str | None) -> int | None:
    if not code:
        return None
    store = Store.objects.filter(code=code).only("pk").first()
    if store is None:
        raise MemberError(MemberErrorCode.STORE_NOT_FOUND, store=code)
    return store.pk


def _apply(member: Member, data: MemberInput, now: datetime) -> None:
    if data.mobile is not None:
        try:
            member.mobile = normalise_mobile(data.mobile) if data.mobile else None
        except ValueError:
            raise MemberError(MemberErrorCode.INVALID_MOBILE, mobile=data.mobile) from None
    if data.name is not None:
        member.name = data.name.strip()
    if data.region is not None:
        member.region = region_normalise(data.region)  # 上海市 → 上海; unknown text kept
    if data.gender is not None:
        if data.gender not in Member.Gender.values:
            raise MemberError(MemberErrorCode.INVALID_INPUT, reason=f"gender {data.gender!r}")
        member.gender = data.gender
    if data.birthday is not None:
        if data.birthday > local_date(now):
            raise MemberError(MemberErrorCode.INVALID_INPUT, reason="birthday in the future")
        member.birthday = data.birthday
    if data.source_channel is not None:
        if data.source_channel not in Member.Channel.values:
            raise MemberError(MemberErrorCode.INVALID_INPUT,
                              reason=f"source channel {data.source_channel!r}")
        member.source_channel = data.source_channel
    if data.home_store_code is not None:
        member.home_store_id = _store_id(data.home_store_code)
    if data.referrer_id is not None:
        member.referrer_id = referrer_check(member_id=member.pk, referrer_id=data.referrer_id)
    if data.external_id is not None:
        member.external_id = data.external_id or None
    if data.do_not_disturb is not None:
        member.do_not_disturb = data.do_not_disturb
    if data.contact_whitelist is not None:
        member.contact_whitelist = data.contact_whitelist
    if data.enrolled_by_id is not None:
        member.enrolled_by_id = data.enrolled_by_id
    member.updated_at = now


# what a profile change records (by name: never the values) and webhooks announce
_WATCHED = ("mobile", "name", "gender", "birthday", "region", "home_store_id",
            "source_channel", "referrer_id", "external_id", "marketing_consent",
            "do_not_disturb", "contact_whitelist")


def _watched(member: Member) -> dict[str, object]:
    return {name: getattr(member, name) for name in _WATCHED}


def _updatable_fields() -> list[str]:
    """Every column an update writes: not the generated ones."""
    return [f.name for f in Member._meta.concrete_fields
            if not f.primary_key and not f.generated]


def _consent_changes(data: MemberInput) -> dict[str, bool]:
    """The consent answers a registration or an update gives: the single flag of old on
    every channel, then the per-channel answers over it."""
    changes = {} if data.marketing_consent is None else member_consent_all(data.marketing_consent)
    changes.update(data.consents or {})
    return consent_changes_check(changes)


def _save_consents(member: Member, data: MemberInput, now: datetime) -> list[str]:
    """PIPL: consent is recorded per channel with its time, source and history. Returns the
    channels whose answer changed."""
    changes = _consent_changes(data)
    if changes:
        return consent_set_locked(member, changes, (data.consent_source or "")[:32], now)
    return []


def _save(member: Member) -> None:
    try:
        with transaction.atomic():
            if member._state.adding:
                member.save()
            else:
                member.save(update_fields=_updatable_fields())
    except IntegrityError as exc:
        text = str(exc)
        if "member_mobile_unique_unless_closed" in text:
            raise MemberError(MemberErrorCode.MOBILE_TAKEN) from None
        if "external_id" in text:
            raise MemberError(MemberErrorCode.EXTERNAL_ID_TAKEN) from None
        raise


def member_register(*, data: MemberInput, now: datetime | None = None) -> Member:
    """Enrol a new member; the mobile must be free among members that are not closed.

    A member who closed their account may enrol again with the same number: the closed
    row keeps its history and the new member starts fresh.
    """
    now = resolve_now(now)
    member = Member(created_at=now)
    _apply(member, data, now)
    member.member_no = next_member_no()
    changes = _consent_changes(data)
    with transaction.atomic():
        _save(member)
        if changes:
            consent_set_locked(member, changes, (data.consent_source or "")[:32], now)
    return member


def member_update(*, member_id: int, data: MemberInput, now: datetime | None = None) -> Member:
    now = resolve_now(now)
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(pk=member_id).first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        if member.status == Member.Status.CLOSED:
            raise MemberError(MemberErrorCode.MEMBER_CLOSED)
        before = _watched(member)
        _apply(member, data, now)
        _save(member)
        consents = _save_consents(member, data, now)
        after = _watched(member)
        changed = [name.removesuffix("_id") for name in _WATCHED if before[name] != after[name]]
        if consents and "marketing_consent" not in changed:
            changed.append("marketing_consent")  # a channel's answer changed
        if changed:
            MemberChange.objects.create(member=member, kind=MemberChange.Kind.UPDATED,
                                        fields=changed, created_at=now)
        tag_rules_refresh_member(member_id=member.pk, now=now)  # rules on attributes
    return member


def member_set_status(*, member_id: int, status: str, now: datetime | None = None) -> Member:
    """Freeze, unfreeze or close a member. Closing frees the mobile number for re-enrolment."""
    now = resolve_now(now)
    if status not in Member.Status.values:
        raise MemberError(MemberErrorCode.INVALID_INPUT, reason=f"status {status!r}")
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(pk=member_id).first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        if member.status == Member.Status.CLOSED and status != Member.Status.CLOSED:
            raise MemberError(MemberErrorCode.MEMBER_CLOSED)
        if member.status != status:
            MemberChange.objects.create(member=member, kind=status, created_at=now)
        member.status = status
        member.updated_at = now
        _save(member)
        tag_rules_refresh_member(member_id=member.pk, now=now)  # a closed member has none
    return member


def member_check(*, data: MemberInput, member_id: int | None = None,
                 now: datetime | None = None) -> None:
    """Validate a registration or an update without writing: the admin and the counter
    page call this to show a form error, then call the service that writes."""
    now = resolve_now(now)
    member = Member(pk=member_id, created_at=now)
    _apply(member, data, now)
    _consent_changes(data)
    others = Member.objects.exclude(pk=member_id) if member_id else Member.objects.all()
    if member.mobile and others.filter(mobile=member.mobile).exclude(status="closed").exists():
        raise MemberError(MemberErrorCode.MOBILE_TAKEN)
    if member.external_id and others.filter(external_id=member.external_id).exists():
        raise MemberError(MemberErrorCode.EXTERNAL_ID_TAKEN)
