"""A storefront's day through a client generated from the schema by openapi-python-client,
used as generated: register → sale → balance → redeem → checkout preview → hold → capture →
partial return → history.

`python tests/contract/flow.py BASE_URL SEED.json` with the generated package `loyalty_client`
on the path. Every answer must be the documented success, parsed into the generated model
(a field the schema mistyped or a null it did not announce fails here), and carry
`X-Request-ID`.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from loyalty_client import AuthenticatedClient
from loyalty_client.api.checkout import checkout_preview, hold_capture, hold_create
from loyalty_client.api.members import member_register
from loyalty_client.api.orders import return_record, sale_record
from loyalty_client.api.points import points_balance, points_entries
from loyalty_client.api.rewards import reward_redeem, rewards_list
from loyalty_client.models import (
    BasketLineRequest,
    HoldCaptureInputRequest,
    HoldCreateInputRequest,
    HoldOutcome,
    LineRequest,
    MemberBalance,
    MemberOutput,
    OrderOutcome,
    PaginatedEntryList,
    PaginatedRewardList,
    Preview,
    PreviewInputRequest,
    RedemptionOutcome,
    RegisterInputRequest,
    ReturnInputRequest,
    ReturnLineRequest,
    RewardRedeemInputRequest,
    SaleInputRequest,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def expect(step: str, response, status: int, model):
    if response.status_code != status or not isinstance(response.parsed, model):
        raise SystemExit(f"{step}: expected {status} {model.__name__}, got "
                         f"{response.status_code}: {response.content[:500]!r}")
    request_id = response.headers.get("X-Request-ID", "")
    uuid.UUID(request_id)  # raises unless the answer carries a request id
    print(f"ok  {step:<18} {status}  X-Request-ID {request_id}")
    return response.parsed


def key() -> str:
    return str(uuid.uuid4())


def main(base_url: str, seed: dict) -> None:
    client = AuthenticatedClient(base_url=base_url, token=seed["key"], timeout=30,
                                 raise_on_unexpected_status=True)
    run = uuid.uuid4().int % 10**8
    member = expect("register", member_register.sync_detailed(
        client=client, body=RegisterInputRequest(mobile=f"137{run:08d}", name="流程")),
        201, MemberOutput)
    assert member.home_store is None  # nullable, and null here

    sale = expect("sale", sale_record.sync_detailed(client=client, body=SaleInputRequest(
        store=seed["store"], order_no=f"FLOW-{run}", member=member.id,
        ordered_at=datetime.now(SHANGHAI),
        lines=[LineRequest(line_no=1, sku="TEA", quantity=3, gross_amount="300.00")])),
        201, OrderOutcome)
    assert sale.order.sale_order_no is None and sale.points > 0

    balance = expect("balance", points_balance.sync_detailed(member.id, client=client),
                     200, MemberBalance)
    assert balance.available > 0 and balance.pending + balance.available >= sale.points

    rewards = expect("rewards", rewards_list.sync_detailed(member.id, client=client),
                     200, PaginatedRewardList)
    goods = next(r for r in rewards.results if r.coupon_name is None)
    redeemed = expect("redeem", reward_redeem.sync_detailed(
        member.id, client=client, idempotency_key=key(),
        body=RewardRedeemInputRequest(reward=goods.id)), 201, RedemptionOutcome)
    assert redeemed.redemption.store is None and redeemed.redemption.coupon is None

    preview = expect("checkout preview", checkout_preview.sync_detailed(
        client=client, body=PreviewInputRequest(member=member.id, lines=[
            BasketLineRequest(sku="TEA", quantity=1, amount="100.00")])), 200, Preview)
    usable = preview.points.usable
    assert usable > 0

    held = expect("hold", hold_create.sync_detailed(
        client=client, idempotency_key=key(),
        body=HoldCreateInputRequest(member=member.id, points=usable, reference=f"B-{run}")),
        201, HoldOutcome)
    captured = expect("capture", hold_capture.sync_detailed(
        held.hold.id, client=client, idempotency_key=key(),
        body=HoldCaptureInputRequest(points=max(1, usable // 2))), 200, HoldOutcome)
    assert captured.hold.state.value == "captured"

    returned = expect("partial return", return_record.sync_detailed(
        client=client, body=ReturnInputRequest(
            store=seed["store"], order_no=f"R-{run}", sale_order_no=f"FLOW-{run}",
            ordered_at=datetime.now(SHANGHAI),
            lines=[ReturnLineRequest(line_no=1, quantity=1)])), 201, OrderOutcome)
    assert returned.order.sale_order_no == f"FLOW-{run}" and returned.points < 0

    history = expect("history", points_entries.sync_detailed(member.id, client=client),
                     200, PaginatedEntryList)
    kinds = [entry.kind.value for entry in history.results]
    for kind in ("earn", "spend", "hold", "capture", "release", "reverse"):
        assert kind in kinds, (kind, kinds)
    print(f"ok  the whole flow, {len(kinds)} ledger entries: {', '.join(reversed(kinds))}")


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as source:
        main(sys.argv[1], json.load(source))
