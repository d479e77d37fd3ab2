"""Staff accounts: who may be switched off.

An account that owns active API keys is not deactivated while they run on its name: the
requests they make are attributed to it (core.actor), and a key whose owner has left is a
key nobody answers for. Its keys are reassigned to another account or revoked first.
Deactivation itself takes effect at once: Django's session backend refuses an inactive
account on its next request."""

from __future__ import annotations

from ..errors import StaffError, StaffErrorCode
from ..models import ApiKey


def staff_deactivation_check(*, user_id: int) -> None:
    """Raise `staff_owns_api_keys` while the account owns an API key not revoked."""
    prefixes = list(ApiKey.objects.filter(owner_id=user_id, revoked_at__isnull=True)
                    .order_by("prefix").values_list("prefix", flat=True))
    if prefixes:
        raise StaffError(StaffErrorCode.KEYS_STILL_OWNED, count=len(prefixes),
                         prefixes=", ".join(prefixes))
