"""Row locks for the growth ledger: one helper, always in member-id order, inside atomic().

Every write to a member's growth, tier or growth entries holds the lock on their
`GrowthAccount` row; batch jobs lock a chunk's accounts in ascending id order, so two
writers never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from .errors import TierError, TierErrorCode
from .models import GrowthAccount
from .models.benefits import BenefitGrant


def lock_growth_accounts(member_ids: Iterable[int], *, now: datetime) -> dict[int, GrowthAccount]:
    ids = sorted(set(member_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tiers_growthaccount (member_id, growth, period_growth, updated_at)
            SELECT id, 0, 0, %s FROM unnest(%s::bigint[]) AS t(id)
            ON CONFLICT (member_id) DO NOTHING
            """,
            [now, ids],
        )
    # No select_related: after waiting for a lock PostgreSQL re-checks only the locked row,
    # so a joined tier could be the stale one; `account.tier` is read after the lock instead.
    accounts = (GrowthAccount.objects.select_for_update()
                .filter(member_id__in=ids).order_by("member_id"))
    return {a.member_id: a for a in accounts}


def lock_benefit_grant(*, member_id: int, grant_id: int) -> BenefitGrant:
    """Lock one of the member's benefit grants (claims and uses serialise on it)."""
    if not 0 < grant_id < 2**63:
        raise TierError(TierErrorCode.GRANT_NOT_FOUND)
    grant = (BenefitGrant.objects.select_for_update(of=("self",)).select_related("benefit")
             .filter(pk=grant_id, member_id=member_id).first())
    if grant is None:
        raise TierError(TierErrorCode.GRANT_NOT_FOUND)
    return grant
