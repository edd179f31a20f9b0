"""Crash safety (issue 8.6): `kill -9` of the server during a burst of purchases and of the
importer half-way through a file. After a restart the ledger verifies, and sending the same
requests (or file) again gives exactly the state of a run that was never interrupted."""

from __future__ import annotations

import csv
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lealtad.imports.tables import import_runs
from tests.reliability.harness import Node, business_id, enrol, node_pair, state
from tests.reliability.state import card_numbers, purchases_csv

PURCHASES = 120
THREADS = 4
KILL_AFTER = 30
FILE_ROWS = 3000
BATCH = 40


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    """Two fresh installations: the one that crashes and the uninterrupted reference."""
    yield from node_pair(request, tmp_path, "crash")


def requests_for(member_ids: list[int]) -> list[tuple[str, dict[str, Any]]]:
    """(Idempotency-Key, body) of every purchase in the burst; a few are anonymous."""
    out = []
    for n in range(PURCHASES):
        body: dict[str, Any] = {
            "receipt_id": f"R-{n:05d}",
            "amount": 250 + (n * 131) % 4000,
            "currency": "EUR",
            "occurred_at": f"2026-02-{1 + n % 28:02d}T09:{n % 60:02d}:00Z",
        }
        if n % 11:
            body["member_id"] = member_ids[n % len(member_ids)]
        out.append((f"pos-1-{n}", body))
    return out


def send(
    base: str,
    key: str,
    requests: list[tuple[str, dict[str, Any]]],
    stop_after: int = 0,
    kill: Any = None,
) -> int:
    """Sends the requests from a few threads; with `kill`, calls it once `stop_after` answers
    came back. Returns how many were answered 201; a dead server's refusals are not errors."""
    answered = 0
    lock = threading.Lock()
    killed = threading.Event()

    def post(item: tuple[str, dict[str, Any]]) -> None:
        nonlocal answered
        idem, body = item
        if killed.is_set():
            return
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
        try:
            with httpx.Client(base_url=base, timeout=30) as http:
                got = http.post("/api/v1/purchases", json=body, headers=headers)
        except httpx.TransportError:
            assert kill is not None, "the server dropped a request it was not killed during"
            return
        assert got.status_code == 201, got.text
        with lock:
            answered += 1
            if kill is not None and answered == stop_after:
                kill()
                killed.set()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(post, requests))
    return answered


def test_a_server_killed_during_a_purchase_burst_ends_like_an_uninterrupted_one_once_resent(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    crashed, reference = nodes
    key = crashed.setup_business()
    log = tmp_path / "server.log"
    server, base = crashed.serve(log)
    # The uninterrupted run, in this process, while the server starts.
    ref_key = reference.setup_business()
    with reference.app() as app:
        for idem, body in requests_for(enrol(app, ref_key)):
            headers = {"Authorization": f"Bearer {ref_key}", "Idempotency-Key": idem}
            assert app.post("/api/v1/purchases", json=body, headers=headers).status_code == 201
    Node.ready(server, base, log)
    with httpx.Client(base_url=base, timeout=30) as http:
        burst = requests_for(enrol(http, key))

    answered = send(base, key, burst, KILL_AFTER, kill=lambda: os.kill(server.pid, signal.SIGKILL))

    assert server.wait(timeout=10) == -signal.SIGKILL
    assert KILL_AFTER <= answered < PURCHASES, "killed in the middle of the burst"
    restarted, base = crashed.serve(log)
    assert crashed.run("ledger", "verify").code == 0
    Node.ready(restarted, base, log)
    assert send(base, key, burst) == PURCHASES, "every request answered, the applied ones replayed"
    assert crashed.run("ledger", "verify").code == 0
    got, want = state(crashed), state(reference)
    assert len(got["purchases"]) == PURCHASES
    assert got == want


def import_files(node: Node, name: str) -> Path:
    """A members file through `lealtad import members`, then a purchases file on its cards."""
    people = node.data_dir / "members.csv"
    people.write_text("name,email\n" + "".join(f"M{n},m{n}@crash.example\n" for n in range(9)))
    run = node.run("import", "members", str(people), "--business", "shop")
    assert run.code == 0, str(run)
    db = node.database()
    try:
        cards = card_numbers(db, business_id(node))
    finally:
        db.dispose()
    return purchases_csv(node.data_dir / name, cards, FILE_ROWS, bad_every=37)


def committed_rows(node: Node) -> int:
    db = node.database()
    try:
        with db.read() as conn:
            return int(
                conn.scalar(
                    select(import_runs.c.rows_done).order_by(import_runs.c.id.desc()).limit(1)
                )
                or 0
            )
    finally:
        db.dispose()


def test_an_importer_killed_mid_file_resumes_and_ends_like_an_uninterrupted_import(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    crashed, reference = nodes
    crashed.setup_business()
    path = import_files(crashed, "sales.csv")
    args = ("import", "purchases", str(path), "--business", "shop", "--batch-size", str(BATCH))
    importer = crashed.spawn(*args, log=tmp_path / "import.log")
    deadline = time.monotonic() + 60
    while committed_rows(crashed) < 2 * BATCH:
        assert importer.poll() is None, (tmp_path / "import.log").read_text()
        assert time.monotonic() < deadline, "no batch committed in time"
        time.sleep(0.05)
    importer.send_signal(signal.SIGKILL)
    assert importer.wait(timeout=10) == -signal.SIGKILL
    done = committed_rows(crashed)
    assert 2 * BATCH <= done < FILE_ROWS, "killed in the middle of the file"
    assert crashed.run("ledger", "verify").code == 0

    rerun = crashed.run(*args)

    assert rerun.code == 3, str(rerun)  # finished, with the file's bad rows rejected
    assert f"after row {done}" in rerun.out, str(rerun)
    assert crashed.run("ledger", "verify").code == 0
    reference.setup_business()
    ref_path = import_files(reference, "sales.csv")
    assert reference.run("import", "purchases", str(ref_path), "--business", "shop").code == 3
    assert state(crashed) == state(reference)
    rejected = [
        list(csv.reader(p.with_name(p.name + ".rejects.csv").open())) for p in (path, ref_path)
    ]
    assert [r[:2] for r in rejected[0]] == [r[:2] for r in rejected[1]], "each reject once"
    assert len(rejected[0]) == 1 + FILE_ROWS // 37
