"""Two app processes and two workers on one PostgreSQL: the way production runs.

Real `lealtad serve` and `lealtad worker` processes (one PROMETHEUS_MULTIPROC_DIR for all four,
as on one machine) take concurrent purchases and redemptions through both apps, some purchases
sent to both apps under the same idempotency key at the same moment; the workers drain the
outbox to a real webhook receiver. Then: the ledger verifies, replays changed nothing, every
balance is the sum of its postings, and each event reached the receiver exactly once although
two workers were claiming (SKIP LOCKED)."""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from lealtad.comms.tables import outbox, webhook_deliveries
from lealtad.ledger.tables import accounts, postings
from tests.e2e.test_cli import API_KEY, lealtad_command
from tests.e2e.test_demo_serves import free_port
from tests.reliability.harness import Node, business_id, enrol, fresh_postgres, state

pytestmark = pytest.mark.postgres

PURCHASES = 96
RACED_EVERY = 6  # every sixth purchase is sent to both apps at once, same key
MEMBERS = 12
REWARD_COST = 40
_databases = itertools.count()


class Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint that notes the id of every delivery it is handed."""

    seen: list[str]
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with self.lock:
            self.seen.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return None


def spawn(node: Node, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[str]:
    with log.open("a") as out:
        proc = subprocess.Popen(
            [*lealtad_command(), *args],
            env=env,
            cwd=node.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    node.processes.append(proc)
    return proc


def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def node(postgres_url: str, tmp_path: Path) -> Any:
    url = fresh_postgres(postgres_url, f"multi_{os.getpid()}_{next(_databases)}")
    installation = Node(tmp_path / "node", url)
    yield installation
    installation.stop_all()


def test_two_apps_and_two_workers_on_one_postgresql_agree_and_deliver_each_event_once(
    node: Node, tmp_path: Path
) -> None:
    manager = node.setup_business()
    owner_run = node.run("apikey", "create", "--business", "shop", "--role", "owner")
    owner = API_KEY.search(owner_run.out).group(0)  # type: ignore[union-attr]
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = node.env | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    ports = [free_port(), free_port()]
    apps = [
        spawn(node, env, tmp_path / f"app{n}.log", "serve", "--host", "127.0.0.1", "--port", str(p))
        for n, p in enumerate(ports)
    ]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    Receiver.seen = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        for proc, base, n in zip(apps, bases, range(2), strict=True):
            Node.ready(proc, base, tmp_path / f"app{n}.log")
        # Started once the apps answer (on two cores four start-ups at once are slow); they
        # come up while the traffic runs and claim the outbox as it fills.
        for n in range(2):
            spawn(node, env, tmp_path / f"worker{n}.log", "worker", "--interval", "1")
        _traffic_and_checks(node, bases, manager, owner, receiver.server_address[1], tmp_path)
    finally:
        receiver.shutdown()


def _traffic_and_checks(
    node: Node, bases: list[str], manager: str, owner: str, hook_port: int, logs: Path
) -> None:
    auth = {"Authorization": f"Bearer {manager}"}
    a, b = (httpx.Client(base_url=base, timeout=30, headers=auth) for base in bases)
    hook = a.post(
        "/api/v1/webhooks",
        json={"url": f"http://127.0.0.1:{hook_port}/hook"},
        headers={"Authorization": f"Bearer {owner}"},
    )
    assert hook.status_code == 201, hook.text
    members = enrol(a, manager, MEMBERS)
    reward = b.post(
        "/api/v1/rewards",
        json={
            "slug": "cake",
            "kind": "free_product",
            "sku": "CAKE",
            "title": {"es": "Tarta", "en": "Cake"},
            "cost": REWARD_COST,
        },
    )
    assert reward.status_code == 201, reward.text

    def buy(n: int, client: httpx.Client) -> tuple[int, httpx.Response]:
        body = {
            "receipt_id": f"R-{n:04d}",
            "amount": 1000 + 10 * n,
            "currency": "EUR",
            "member_id": members[n % MEMBERS],
        }
        return n, client.post("/api/v1/purchases", json=body, headers={"Idempotency-Key": f"k{n}"})

    calls = [(n, (a, b)[n % 2]) for n in range(PURCHASES)]
    calls += [(n, (b, a)[n % 2]) for n in range(0, PURCHASES, RACED_EVERY)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda call: buy(*call), calls))
    first: dict[int, Any] = {}
    for n, answer in answers:
        assert answer.status_code == 201, answer.text
        # The same key at both apps: one purchase, the same answer to both callers.
        assert first.setdefault(n, answer.json()) == answer.json()

    def redeem(n: int) -> httpx.Response:
        client = (a, b)[n % 2]
        member = members[n % MEMBERS]
        return client.post(
            f"/api/v1/members/{member}/redemptions", json={"reward_id": reward.json()["id"]}
        )

    with ThreadPoolExecutor(8) as pool:
        redeemed = list(pool.map(redeem, range(4 * MEMBERS)))
    assert {r.status_code for r in redeemed} <= {201, 409}, [r.text for r in redeemed]
    refused = [r.json()["error"]["code"] for r in redeemed if r.status_code == 409]
    assert set(refused) <= {"insufficient_balance"}, refused
    made = sum(r.status_code == 201 for r in redeemed)

    # Replays after the fact, each to the other app: the same answer, nothing changed.
    before = state(node)
    replays = [buy(n, (b, a)[n % 2]) for n in range(1, PURCHASES, 9)]
    for n, answer in replays:
        assert answer.status_code == 201
        assert answer.json() == first[n]
    assert state(node) == before

    deliveries = _drain(node, logs)
    assert node.run("ledger", "verify").code == 0
    db = node.database()
    try:
        with db.read() as conn:
            bid = business_id(node)
            mismatched = conn.execute(
                select(accounts.c.id, accounts.c.balance, func.sum(postings.c.amount))
                .join(postings, postings.c.account_id == accounts.c.id)
                .where(accounts.c.business_id == bid, accounts.c.member_id.is_not(None))
                .group_by(accounts.c.id, accounts.c.balance)
                .having(accounts.c.balance != func.sum(postings.c.amount))
            ).all()
            negative = conn.scalar(
                select(func.count()).where(accounts.c.business_id == bid, accounts.c.balance < 0)
            )
            rows = conn.execute(select(outbox.c.id, outbox.c.attempts, outbox.c.delivered_at)).all()
    finally:
        db.dispose()
    assert mismatched == []
    assert negative == 0
    assert before["purchases"]
    assert len(before["purchases"]) == PURCHASES
    # Each event was claimed by one worker once, and its webhook handed over once.
    assert rows
    assert all(r.delivered_at is not None and r.attempts == 1 for r in rows)
    sent = Counter(Receiver.seen)
    assert [k for k, times in sent.items() if times > 1] == []
    assert set(sent) == set(deliveries)
    assert len(deliveries) == len(rows)

    # /metrics of either app adds up all four processes (one multiprocess directory).
    samples = scrape(bases[1])
    assert samples[("lealtad_purchases_total", ())] == PURCHASES
    assert samples[("lealtad_redemptions_total", ())] == made
    assert samples[("lealtad_worker_jobs_total", (("job", "events"),))] == len(rows)
    assert samples[("lealtad_outbox_pending", ())] == 0


def _drain(node: Node, logs: Path, seconds: float = 60) -> list[str]:
    """Waits for the workers to deliver everything; the deliveries' message ids."""
    db = node.database()
    deadline = time.monotonic() + seconds
    try:
        while True:
            with db.read() as conn:
                pending = conn.scalar(
                    select(func.count()).where(outbox.c.delivered_at.is_(None))
                ) + conn.scalar(
                    select(func.count()).where(webhook_deliveries.c.status != "succeeded")
                )
                ids = list(conn.scalars(select(webhook_deliveries.c.message_id)))
            if not pending and len(Receiver.seen) >= len(ids):
                return ids
            assert time.monotonic() < deadline, "\n".join(
                p.read_text()[-2000:] for p in logs.glob("worker*.log")
            )
            time.sleep(0.2)
    finally:
        db.dispose()
