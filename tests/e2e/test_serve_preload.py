"""`lealtad serve --workers 2 --preload`: the workers are forked from a supervisor that built the
app once (src/lealtad/prefork.py). The real command on a real socket: it serves purchases, counts
them in /metrics across the workers, forks a killed worker again, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from lealtad.db.engine import Database
from tests.conftest import SECRET
from tests.e2e.test_cli import cli_env, lealtad_command
from tests.security.live import free_port
from tests.support import Shop, make_shop


@pytest.fixture
def served_shop(db: Database) -> tuple[str, Shop]:
    """The database's address and a shop in it; on PostgreSQL the supervisor must hand no
    pooled connection to its workers (prefork.build_app)."""
    shop = make_shop(db, datetime.now(UTC))
    db.engine.dispose()
    return db.url, shop


def workers_of(supervisor: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            after_name = stat.rsplit(")", 1)[1].split()
            if int(after_name[1]) == supervisor and after_name[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def wait_for(condition: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@contextmanager
def preloaded(database_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = cli_env(tmp_path / "data") | {
        "LEALTAD_ENV": "test",
        "LEALTAD_SECRET_KEY": SECRET,
        "LEALTAD_DATABASE_URL": database_url,
        "LEALTAD_LOG_LEVEL": "warning",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*lealtad_command(), "serve", "--port", str(port), "--workers", "2", "--preload"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"

            def healthy() -> bool:
                assert proc.poll() is None, log_path.read_text()
                try:
                    return httpx.get(base + "/healthz", timeout=5).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(healthy, "lealtad serve --preload did not start", 60)
            wait_for(lambda: len(workers_of(proc.pid)) == 2, "two workers were not forked")
            yield proc, base
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def test_preloaded_workers_serve_purchases_and_a_killed_worker_is_forked_again(
    served_shop: tuple[str, Shop], tmp_path: Path
) -> None:
    database_url, shop = served_shop
    with preloaded(database_url, tmp_path) as (proc, base), httpx.Client(base_url=base) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        for n in range(6):
            bought = http.post(
                "/api/v1/purchases",
                json={"receipt_id": f"PRE-{n}", "amount": 500, "currency": "EUR"},
                headers=shop.auth() | {"Connection": "close"},
            )
            assert bought.status_code in (200, 201), bought.text
        # Counters made by the supervisor before the fork count in each worker's own file, and
        # whichever worker answers adds them all up (lealtad.metrics, multiprocess mode).
        exposed = http.get("/metrics", headers={"Connection": "close"})
        assert exposed.status_code == 200, exposed.text
        (purchases,) = [
            line for line in exposed.text.splitlines() if line.startswith("lealtad_purchases_total")
        ]
        assert float(purchases.split()[-1]) == 6
        first = workers_of(proc.pid)
        os.kill(first[0], signal.SIGKILL)
        wait_for(
            lambda: len(workers_of(proc.pid)) == 2 and first[0] not in workers_of(proc.pid),
            "the killed worker was not replaced",
        )
        assert http.get("/healthz", headers={"Connection": "close"}).status_code == 200
        workers = workers_of(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


# `lealtad serve` with each forked worker held still for a moment right after the fork, as a
# loaded machine may leave it unscheduled: a stop sent then lands before the worker has set its
# own signal handling, the window the supervisor must close.
SLOW_FORK = """
import os, sys, time
real_fork = os.fork
def fork():
    pid = real_fork()
    if pid == 0:
        time.sleep(1.0)
    return pid
os.fork = fork
from lealtad.cli import main
sys.argv[0] = "lealtad"
main()
"""


def test_a_stop_sent_while_a_worker_is_being_forked_stops_it_too(tmp_path: Path) -> None:
    # Before the fix the held worker ran the supervisor's inherited SIGTERM handler (or CPython
    # dropped the signal "due to race condition") and served on; the supervisor waited for it
    # for ever (seen once in CI as a `serve --preload` that did not stop in 30 s).
    env = cli_env(tmp_path / "data") | {
        "LEALTAD_ENV": "test",
        "LEALTAD_SECRET_KEY": SECRET,
        "LEALTAD_DATABASE_URL": f"sqlite:///{tmp_path / 'stop.db'}",
        "LEALTAD_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-c", SLOW_FORK, "serve", "--port", str(free_port())]
    proc = subprocess.Popen(
        [*command, "--workers", "2", "--preload"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(workers_of(proc.pid)) == 2, "two workers were not forked", 60)
        forked = workers_of(proc.pid)
        proc.send_signal(signal.SIGTERM)  # both workers are still in their first second
        assert proc.wait(timeout=20) == 0, "the supervisor did not stop"
        wait_for(
            lambda: all(not Path(f"/proc/{pid}").exists() for pid in forked),
            "a worker outlived its supervisor",
            10,
        )
    finally:
        for pid in workers_of(proc.pid) if proc.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
