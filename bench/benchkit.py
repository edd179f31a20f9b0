"""What the benchmark scripts share: the field keys of a throwaway database, starting a real
uvicorn server on a free port (`free_port`, `start_server`), and the small JSON summary that
`bench/run_all` collects.

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
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lealtad.security.crypto import FieldKeys
from lealtad.wiring import wire

# The scripts call the services directly, as an entry point does: the ledger's subscribers first.
wire()

# A fixed secret: benchmark databases are throwaway, and a fixed key keeps a kept file readable.
BENCH_KEYS = FieldKeys.derived("lealtad-bench-not-a-secret")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(100).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start_server(
    factory: str, env: dict[str, str], port: int, workers: int, *, settle: float = 1.0
) -> subprocess.Popen[bytes]:
    """uvicorn serving `factory` ("bench.module:function", imported from the repository's root)
    with `workers` processes, once GET /healthz answers 200; then `settle` seconds more, so that
    every worker has finished starting before the load begins. Exits after a minute without."""
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _healthy(port):
            time.sleep(settle)
            return proc
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start")


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


def seed_demo(db: Any, members_count: int, label: str = "Bench") -> tuple[Any, list[int], str]:
    """Migrates `db`, seeds the demo business and enrols members up to `members_count`:
    (the demo's seed info, member ids, the business's currency)."""
    from datetime import UTC, datetime

    from lealtad.db.migrate import upgrade
    from lealtad.demo import seed as demo_seed
    from lealtad.members import service as members
    from lealtad.members.schemas import MemberIn
    from lealtad.tenancy import service as tenancy

    upgrade(db)
    now = datetime.now(UTC)
    info = demo_seed(db, now)
    ids = list(info.member_ids)
    with db.transaction() as conn:
        currency = tenancy.get_business(conn, info.business_id).currency
        for i in range(len(ids), members_count):
            member = MemberIn(name=f"{label} {i}")
            ids.append(members.enrol(conn, info.business_id, member, channel="api", now=now))
    return info, ids, currency


def seed_from_settings(members_count: int) -> tuple[str, list[int], str]:
    """`seed_demo` on the database the environment's settings name (LEALTAD_DATA_DIR,
    LEALTAD_DATABASE_URL); (API key, member ids, currency)."""
    from lealtad.config import load_settings
    from lealtad.db.engine import Database
    from lealtad.security.fields import keys_for_settings

    settings = load_settings()
    db = Database(settings.effective_database_url, keys=keys_for_settings(settings))
    info, ids, currency = seed_demo(db, members_count)
    db.dispose()
    return info.api_key, ids, currency
