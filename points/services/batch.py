"""Points and coupons for many members at once — one statement per chunk, not one
transaction per member — for campaigns acting on a frozen audience.

`points_credit_many` is `points_earn` written as one SQL statement over a chunk: under the
accounts' locks (points.locks, member-id order) it collects each member's debt first, puts
the rest in a new available lot, writes the entry under its source key, the lot's movement
and the balances — the same rows `points.ledger.post` writes. A source key already in the
ledger is skipped, so a re-run credits nothing twice. `coupons_issue_many` issues
generated-code coupons the same way, each under its source key, with its issued event.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction

from core.clock import resolve_now
from members.models import Member

from ..errors import PointsError, PointsErrorCode
from ..expiry import lot_expires_at
from ..locks import lock_accounts
from ..models import CouponTemplate, PointsSettings
from .coupons import CODE_ALPHABET, CODE_LENGTH, coupon_face_value_check, coupon_validity
from .posting import balances_sql, chained_entries_sql, entry_columns_sql, insert_entries_sql

_CREDIT_SQL = """
WITH RECURSIVE input AS (
    SELECT * FROM unnest(%(members)s::bigint[], %(points)s::bigint[], %(keys)s::text[])
        AS t(member_id, points, source_key)
), due AS (
    SELECT i.member_id, i.points, i.source_key, LEAST(a.debt, i.points) AS collected
    FROM input i
    JOIN points_pointsaccount a ON a.member_id = i.member_id
    JOIN members_member m ON m.id = i.member_id AND """ + Member.can_earn_or_spend_sql("m") + """
    WHERE i.points > 0
      AND NOT EXISTS (SELECT 1 FROM points_pointsentry e WHERE e.source_key = i.source_key)
), lots AS (
    INSERT INTO points_pointslot (member_id, state, original, remaining, expires_at, created_at)
    SELECT member_id, 'available', points - collected, points - collected, %(expires)s, %(now)s
    FROM due WHERE points > collected
    RETURNING id, member_id
), new_entries AS (
    SELECT """ + entry_columns_sql(
        member_id="d.member_id", kind="'earn'", available_delta="d.points - d.collected",
        pending_delta="0", held_delta="0", debt_delta="-d.collected", lot_id="l.id",
        source_key="d.source_key", reason="%(reason)s", created_at="%(now)s") + """
    FROM due d LEFT JOIN lots l ON l.member_id = d.member_id
), """ + chained_entries_sql("new_entries", "chained") + """,
entries AS (""" + insert_entries_sql("chained") + """
), movements AS (
    INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held, created_at)
    SELECT id, lot_id, member_id, available_delta, 0, %(now)s FROM entries
    WHERE lot_id IS NOT NULL
), balances AS (""" + balances_sql("entries") + """
    RETURNING a.member_id
)
SELECT member_id FROM balances
"""


def points_credit_many(*, credits: list[tuple[int, int, str]], reason: str,
                       now: datetime | None = None) -> list[int]:
    """Credit each (member id, points, source key) in one transaction: available at once,
    expiring by the programme's policy, a debt collected first; frozen or closed members
    get nothing, a source key already in the ledger is skipped. Returns the members
    credited. One member appears once per call."""
    now = resolve_now(now)
    if not credits:
        return []
    members = [c[0] for c in credits]
    if len(set(members)) != len(members):
        raise ValueError("one credit per member per call")
    expires = lot_expires_at(PointsSettings.current(), now)
    with transaction.atomic():
        lock_accounts(members, now=now)
        with connection.cursor() as cursor:
            cursor.execute(_CREDIT_SQL, {
                "members": members, "points": [c[1] for c in credits],
                "keys": [c[2] for c in credits], "expires": expires, "now": now,
                "reason": reason[:200]})
            return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class CouponIssue:
    member_id: int
    source_key: str
    face_value: Decimal | None = None


_ISSUE_SQL = """
WITH input AS (
    SELECT * FROM unnest(%(members)s::bigint[], %(keys)s::text[], %(codes)s::text[],
                         %(faces)s::numeric[]) AS t(member_id, source_key, code, face_value)
), issued AS (
    INSERT INTO points_coupon (template_id, code, member_id, state, issued_at, valid_from,
                               valid_until, order_no, source_key, face_value, created_at)
    SELECT %(template)s, i.code, i.member_id, 'issued', %(now)s, %(valid_from)s,
           %(valid_until)s, '', i.source_key, i.face_value, %(now)s
    FROM input i JOIN members_member m ON m.id = i.member_id
     AND """ + Member.can_earn_or_spend_sql("m") + """
    ORDER BY i.member_id
    ON CONFLICT DO NOTHING
    RETURNING id, member_id, source_key
), events AS (
    INSERT INTO points_couponevent (coupon_id, member_id, kind, order_no, reason, created_at)
    SELECT id, member_id, 'issued', '', %(reason)s, %(now)s FROM issued
)
SELECT source_key FROM issued
"""


def coupons_issue_many(*, template_id: int, issues: list[CouponIssue], reason: str = "",
                       now: datetime | None = None) -> set[str]:
    """Issue a coupon of a generated-code template to each member under its source key, in
    one statement (codes drawn at random; a code that exists already is drawn again). A
    source key that has its coupon already is skipped, as is a member who is not active.
    Returns the source keys issued now."""
    now = resolve_now(now)
    template = CouponTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise PointsError(PointsErrorCode.COUPON_TEMPLATE_NOT_FOUND)
    if (not template.is_active or template.code_source != "generated"
            or (template.valid_until and template.valid_until <= now)):
        raise PointsError(PointsErrorCode.COUPON_TEMPLATE_INACTIVE)
    for issue in issues:
        coupon_face_value_check(template, issue.face_value)
    valid_from, valid_until = coupon_validity(template, now)
    issued: set[str] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        todo = list(issues)
        for _attempt in range(5):
            keys = [i.source_key for i in todo]
            cursor.execute("SELECT source_key FROM points_coupon WHERE source_key = ANY(%s)",
                           [keys])
            done = {row[0] for row in cursor.fetchall()}
            todo = [i for i in todo if i.source_key not in done]
            if not todo:
                break
            cursor.execute(_ISSUE_SQL, {
                "members": [i.member_id for i in todo], "keys": [i.source_key for i in todo],
                "codes": ["".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                          for _ in todo],
                "faces": [i.face_value for i in todo], "template": template.pk,
                "valid_from": valid_from, "valid_until": valid_until, "now": now,
                "reason": reason[:200]})
            issued |= {row[0] for row in cursor.fetchall()}
            # what is left: a random code that collided, or a member who is not active
            todo = [i for i in todo if i.source_key not in issued]
            if not todo:
                break
            cursor.execute("SELECT id FROM members_member m WHERE id = ANY(%s) AND "
                           + Member.can_earn_or_spend_sql("m"), [[i.member_id for i in todo]])
            active = {row[0] for row in cursor.fetchall()}
            todo = [i for i in todo if i.member_id in active]
            if not todo:
                break
    return issued
