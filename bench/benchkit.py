"""What the benchmark scripts share: the field keys of a throwaway database, and the small JSON
summary that `bench/run_all` collects.

The summary each script writes with `--json FILE` (one file per script):

    {"id": "P4",                      # the target's id in architecture.md
     "command": "uv run python bench/redemptions.py --members 1000",   # what was run
     "rows": [{"case": "SQLite, 8 threads",   # what this figure measures
               "value": 812.0,                # the figure
               "unit": "redemptions/s",
               "target": ">= 1,000/s",        # the target, as text
               "ratio": 0.81}],               # value / target, > 1 is better (for a time,
                                              # target / value), null when there is none
     "notes": ["double spends: 0", ...]}      # optional lines shown under the table

Any script may follow it; run_all only needs `id`, `rows` and `command`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from lealtad.security.crypto import FieldKeys

# A fixed secret: benchmark databases are throwaway, and a fixed key keeps a kept file readable.
BENCH_KEYS = FieldKeys.derived("lealtad-bench-not-a-secret")


def row(case: str, value: float, unit: str, target: str, ratio: float | None) -> dict[str, Any]:
    return {
        "case": case,
        "value": round(value, 3),
        "unit": unit,
        "target": target,
        "ratio": None if ratio is None else round(ratio, 3),
    }


def command_line() -> str:
    return "uv run python " + " ".join(shlex.quote(a) for a in sys.argv)


def write_json(
    path: str | None, target_id: str, rows: list[dict[str, Any]], notes: list[str] | None = None
) -> None:
    if not path:
        return
    summary = {"id": target_id, "command": command_line(), "rows": rows, "notes": notes or []}
    Path(path).write_text(json.dumps(summary, indent=2) + "\n")
