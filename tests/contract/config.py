"""Write the schemathesis configuration for the contract run from the served schema.

`python -m tests.contract.config SCHEMA.json OUT.toml`

`positive_data_acceptance` expects, per operation, the statuses that operation documents —
less those a well-formed request cannot get (405, 406, 413, 415) — so a valid request may
meet a documented business refusal but never an undocumented status.
"""

from __future__ import annotations

import json
import sys

MAX_EXAMPLES = 25
NOT_FOR_VALID_REQUESTS = {"405", "406", "413", "415"}


def config(schema: dict) -> str:
    lines = [
        'hooks = "tests.contract.hooks"',
        "",
        "[cache]",
        "enabled = false",  # every run starts from nothing, as on a clean CI machine
        "",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "",
        "[checks]",
        "enabled = true",
    ]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = sorted(set(operation["responses"]) - NOT_FOR_VALID_REQUESTS)
            lines += [
                "",
                "[[operations]]",
                f'include-operation-id = "{operation["operationId"]}"',
                "checks.positive_data_acceptance.expected-statuses = "
                + json.dumps(statuses),
            ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as source:
        text = config(json.load(source))
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write(text)
