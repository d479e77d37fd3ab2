"""The points ledger's hash chain (core.chain): which columns make an entry's content.

Every column of `PointsEntry` but its id, its hash and the feed's txid is chained, so no
figure, key, reference or time can change unseen. The head lives on `PointsAccount`, the
row every writer locks and updates with the balances.
"""

from __future__ import annotations

from core.chain import Chain

ENTRY_CHAIN = Chain(
    ledger="points",
    table="points_pointsentry",
    account="member_id",
    head_table="points_pointsaccount",
    fields=(
        ("member_id", "int"),
        ("kind", "text"),
        ("available_delta", "int"),
        ("pending_delta", "int"),
        ("held_delta", "int"),
        ("debt_delta", "int"),
        ("order_id", "int"),
        ("lot_id", "int"),
        ("source_key", "text"),
        ("reason", "text"),
        ("operator_id", "int"),
        ("note_id", "int"),
        ("store_id", "int"),
        ("actor_user_id", "int"),
        ("actor_api_key_id", "int"),
        ("created_at", "time"),
    ),
)

# The columns a set-based job's source CTE names for `ENTRY_CHAIN.chained_rows_sql`, in the
# order of its INSERT (those a job does not set are NULL there).
ENTRY_COLUMNS = tuple(column for column, _kind in ENTRY_CHAIN.fields)
