"""The writers that follow a ledger entry are named in one place (lealtad/wiring.py) and every
entry point wires them; a process that forgot fails on its first post rather than leaving the
dashboard's rollups silently behind the journal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "lealtad"
# The app factory, the CLI's database factory and the worker loop.
ENTRY_POINTS = ("api.py", "cli.py", "worker.py")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_process_that_never_wired_refuses_to_post() -> None:
    done = _run(
        "from lealtad.ledger import subscribers\n"
        "try:\n"
        "    subscribers.notify(None, 1, [])\n"
        "except subscribers.NotWired as exc:\n"
        "    print('refused:', exc)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "refused: ledger subscribers are not wired" in done.stdout


def test_wiring_hands_the_ledger_the_named_subscribers() -> None:
    done = _run(
        "from lealtad import wiring\n"
        "from lealtad.analytics import rollups\n"
        "from lealtad.ledger import subscribers\n"
        "wiring.wire()\n"
        "assert subscribers.subscribers() == (rollups.on_entries,)\n"
        "wiring.wire()\n"
        "assert subscribers.subscribers() == (rollups.on_entries,)\n"
    )
    assert done.returncode == 0, done.stderr


def test_every_entry_point_wires() -> None:
    missing = [name for name in ENTRY_POINTS if "wire()" not in (SRC / name).read_text()]
    assert missing == []
