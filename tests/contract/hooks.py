"""Schemathesis hooks for the contract run.

1. `map_case` points schema-valid (positive) cases at the seeded world: ids in paths and
   bodies become seeded members, holds, grants, redemptions and coupons, amounts are made to
   add up, and each write gets its own `Idempotency-Key`, so every operation reaches its
   success path and not only its 404s. Negative cases are left alone: their invalid part must
   reach the server as generated.
2. Two checks of our own: an error answer's `error.code` is one the schema lists for that
   operation and status (`x-error-codes`), and schema-valid data is never refused as
   malformed (`invalid_input` / `malformed_request`) — only by a documented business rule.

The seeded ids come from the JSON file named by `CONTRACT_SEED`.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import date

import schemathesis
from schemathesis.generation.modes import GenerationMode

SEED = json.loads(open(os.environ["CONTRACT_SEED"], encoding="utf-8").read())
MEMBERS = SEED["members"]
BY_MEMBER = {int(k): v for k, v in SEED["by_member"].items()}
HOLDS = [hold for m in MEMBERS for hold in BY_MEMBER[m]["holds"]]
SCHEMA_REFUSALS = {"invalid_input", "malformed_request"}


def _digest(case) -> int:
    text = json.dumps([case.operation.label, case.path_parameters, case.query,
                       case.body if isinstance(case.body, (dict, list, str, int, float))
                       else None], sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _is_positive(case) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode == GenerationMode.POSITIVE


def _operation_id(case) -> str:
    return case.operation.definition.raw.get("operationId", "")


class World:
    """Deterministic choices for one case (a shrunk or replayed case maps the same way)."""

    def __init__(self, case):
        self.n = _digest(case)
        self.member = MEMBERS[self.n % len(MEMBERS)]
        self.other = MEMBERS[(self.n + 1) % len(MEMBERS)]
        self.mine = BY_MEMBER[self.member]

    def pick(self, items, salt: int = 0):
        return items[(self.n // 7 + salt) % len(items)]

    def small(self, value, limit: int) -> int:
        return 1 + (abs(value) if isinstance(value, int) else self.n) % limit

    def mobile(self) -> str:
        return f"139{self.n % 10**8:08d}"


def _lines_unique(lines, key: str) -> list:
    seen, unique = set(), []
    for line in lines:
        if isinstance(line, dict) and line.get(key) not in seen:
            seen.add(line.get(key))
            unique.append(line)
    return unique


def _sale_lines(lines: list) -> list:
    fixed = []
    for number, line in enumerate(lines[:20], start=1):
        line = dict(line, line_no=number)
        for name in ("coupon_discount", "tier_discount", "other_discount", "points_cash",
                     "net_amount"):
            line.pop(name, None)
        line["gross_amount"] = f"{1 + number % 500}.00"
        fixed.append(line)
    return fixed


def _basket(lines: list) -> list:
    return [dict(line, amount=f"{1 + n}.00") for n, line in enumerate(
        _lines_unique(lines, "sku")[:20])]


# The client's own unique keys: a generated "0" reused with other contents is a conflict.
UNIQUE_KEYS = {"eventRecord": "event_id", "saleRecord": "order_no", "returnRecord": "order_no",
               "paidMembershipPurchase": "purchase_id", "partnerExchangeIn": "external_id",
               "partnerExchangeOut": "external_id", "couponRedeem": "order_no",
               "checkoutCommit": "order_no"}


def _map_body(operation: str, body: dict, w: World) -> None:
    if operation in UNIQUE_KEYS and UNIQUE_KEYS[operation] in body:
        body[UNIQUE_KEYS[operation]] = f"C-{w.n:x}"
    if "member" in body:
        body["member"] = w.member
    if "referrer" in body:
        body["referrer"] = w.other
    for name in ("store", "home_store", "sale_store"):
        if body.get(name):
            body[name] = SEED["store"]
    if operation in ("memberRegister", "memberUpdate"):
        if "mobile" in body:
            body["mobile"] = w.mobile()
        if "birthday" in body and body["birthday"] > date.today().isoformat():
            body["birthday"] = "1990-05-01"
    elif operation in ("pointsSpend", "holdCreate"):
        body["points"] = w.small(body.get("points"), 50)
    elif operation == "pointsAdjust":
        points = body.get("points")
        body["points"] = w.small(points, 50) * (-1 if isinstance(points, int) and points < 0
                                                else 1)
    elif operation == "holdCapture":
        body["points"] = w.small(body.get("points"), 100)
    elif operation == "saleRecord":
        body["lines"] = _sale_lines(body.get("lines") or [])
    elif operation == "returnRecord":
        sale = w.pick(SEED["sales"])
        body.update(sale_order_no=sale["order_no"], store=sale["store"])
        body.pop("sale_store", None)
        body["lines"] = [{"line_no": 1, "quantity": 1}]
    elif operation == "eventRecord":
        if body.get("type") == "custom" and not (body.get("name") or "").strip():
            body["name"] = "contract"
    elif operation == "rewardRedeem":
        body.update(reward=w.pick(SEED["rewards"]), quantity=1, store=SEED["store"])
    elif operation == "couponIssue":
        body["template"] = SEED["template"]
    elif operation == "couponRedeem":
        body["code"] = w.pick(w.mine["coupons"])
        body["lines"] = _basket(body.get("lines") or [])
    elif operation == "couponVoid":
        body["code"] = w.pick(BY_MEMBER[w.other]["coupons"], salt=3)
    elif operation == "checkoutPreview":
        body["lines"] = _basket(body.get("lines") or [])
        if body.get("coupon"):
            body["coupon"] = w.pick(w.mine["coupons"])
    elif operation == "checkoutCommit":
        body["lines"] = _basket(body.get("lines") or [])
        if body.get("coupon"):
            body["coupon"] = w.pick(w.mine["coupons"])
        if body.get("points"):
            body["points"] = w.small(body["points"], 50)
        if body.get("gifts"):
            body["gifts"] = [{"reward": w.pick(SEED["rewards"]), "quantity": 1}]
    elif operation == "benefitGrantUse":
        body["units"] = 1
    elif operation == "paidMembershipPurchase":
        body["plan"] = SEED["plan"]
    elif operation in ("partnerExchangeIn", "partnerExchangeOut"):
        if "partner_points" in body:
            body["partner_points"] = 2 * w.small(body["partner_points"], 20)
        if "points" in body:
            body["points"] = w.small(body["points"], 20)
    elif operation == "memberTagAdd":
        body["tag"] = SEED["tag"]


def _map_path(operation: str, path: dict, w: World) -> None:
    if "member_id" in path:
        path["member_id"] = w.member
    if "hold_id" in path:
        path["hold_id"] = w.pick(HOLDS)
    if "grant_id" in path:
        path["grant_id"] = w.pick(w.mine["usable" if operation == "benefitGrantUse"
                                          else "claimable"])
    if "redemption_id" in path:
        path["redemption_id"] = w.pick(w.mine["redemptions"])
    if "partner_code" in path:
        path["partner_code"] = SEED["partner"]
    if "segment" in path:
        path["segment"] = SEED["segment"]
    if "snapshot_id" in path:
        path["snapshot_id"] = SEED["snapshot"]
    if "tag" in path:
        path["tag"] = SEED["tag"]


@schemathesis.hook
def map_case(context, case):
    if not _is_positive(case):
        return case
    w = World(case)
    operation = _operation_id(case)
    if case.path_parameters:
        _map_path(operation, case.path_parameters, w)
    if isinstance(case.body, dict):
        _map_body(operation, case.body, w)
    if operation == "memberLookup" and isinstance(case.query, dict):
        if "mobile" in case.query:
            case.query["mobile"] = w.mine["mobile"]
        elif "member_no" in case.query:
            case.query["member_no"] = w.mine["member_no"]
    if case.headers is not None and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.UUID(int=w.n % 2**128))
    return case


# --- checks ---------------------------------------------------------------------------------

def _documented_codes(case, status: int) -> list[str] | None:
    responses = case.operation.definition.raw.get("responses", {})
    response = responses.get(str(status))
    if response is None:
        return None
    return response.get("x-error-codes")


def _error_code(response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


@schemathesis.check
def error_code_documented(ctx, response, case):
    """An error's `error.code` is one the operation lists under that status."""
    if response.status_code < 400:
        return None
    codes = _documented_codes(case, response.status_code)
    code = _error_code(response)
    if codes is not None and code not in codes:
        raise AssertionError(f"{response.status_code} {code!r} is not among the documented "
                             f"codes {codes}")
    return None


@schemathesis.check
def valid_data_is_not_refused_as_malformed(ctx, response, case):
    """Schema-valid input may be refused by a business rule, never as malformed input."""
    if not _is_positive(case) or response.status_code != 400:
        return None
    code = _error_code(response)
    if code in SCHEMA_REFUSALS:
        raise AssertionError(f"schema-valid input refused as {code}: {response.text[:500]}")
    return None


if os.environ.get("CONTRACT_DEBUG"):
    @schemathesis.hook
    def after_call(context, case, response):
        import sys

        mode = case.meta.generation.mode if case.meta else "?"
        print(f"DEBUG {_operation_id(case)} {mode} {response.status_code} "
              f"{_error_code(response)} {response.text[:300]!r}", file=sys.stderr)
