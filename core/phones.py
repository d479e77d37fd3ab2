"""Mainland mobile numbers, normalised to E.164 (+8613800138000)."""

from __future__ import annotations

import phonenumbers


def normalise_mobile(raw: str, region: str = "CN") -> str:
    """Return the E.164 form of a mobile number; raise ValueError if it is not one."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("empty phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) != region:
        raise ValueError("invalid phone number")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValueError("not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str | None) -> str:
    """+8613812345678 → 138****5678 (personal data shown only as much as needed)."""
    if not e164:
        return ""
    national = e164[3:] if e164.startswith("+86") else e164
    if len(national) < 7:
        return "*" * len(national)
    return f"{national[:3]}****{national[-4:]}"
