"""P1 and P6 (server): purchases through POST /api/v1/purchases, full path, against a real server.

Run: uv run python bench/purchases_http.py [--workers 2] [--connections 32] [--seconds 10]
     [--repeat 3] [--rate 1000] [--members 1000] [--postgres postgresql+psycopg://...]
Creates a fresh database (SQLite file in a temporary folder unless --postgres names an empty
database) with the demo business and extra members, starts uvicorn with N workers serving
lealtad.api plus a no-op POST route (this module's bench_app: the same app, same middleware, one
extra route that exists only here), then on the same machine:
  1. wrk against the no-op route (a small Pydantic body, no auth, no database): the reference;
  2. wrk against POST /api/v1/purchases, each request with its own receipt and a member drawn
     from the spread (API-key auth, rules, ledger, tiers, outbox, idempotency);
  3. an open-loop generator at a fixed rate (default 1,000/s) for the purchase latency, timed
     from when each request was due, so a stalled server cannot hide its queue;
then `lealtad ledger verify`. Prints medians of the repeats, the ratio to the no-op rate and the
peak server RSS (sum over the worker processes, from /proc). Targets: architecture.md P1, P6.
wrk comes from Debian (installed with apt-get when missing and running as root)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent


class NoopIn(BaseModel):
    receipt_id: str
    amount: int
    currency: str


def bench_app() -> FastAPI:
    """The real app with one no-op POST route, for the reference rate. It lives here, not in
    lealtad.api, so production never has it."""
    from lealtad.api import create_app

    app = create_app()

    @app.post("/bench/noop")
    async def noop(body: NoopIn) -> dict[str, bool]:
        return {"ok": True}

    return app


# --- setup ---------------------------------------------------------------------------------


def seed(members_count: int) -> tuple[str, list[int], str]:
    """Migrate, seed the demo business and enrol extra members; (api key, member ids, currency)."""
    from lealtad.config import load_settings
    from lealtad.db.engine import Database
    from lealtad.db.migrate import upgrade
    from lealtad.demo import seed as demo_seed
    from lealtad.members import service as members
    from lealtad.members.schemas import MemberIn
    from lealtad.security.fields import keys_for_settings
    from lealtad.tenancy import service as tenancy

    settings = load_settings()
    db = Database(settings.effective_database_url, keys=keys_for_settings(settings))
    upgrade(db)
    now = datetime.now(UTC)
    info = demo_seed(db, now)
    ids = list(info.member_ids)
    with db.transaction() as conn:
        currency = tenancy.get_business(conn, info.business_id).currency
        for i in range(len(ids), members_count):
            ids.append(
                members.enrol(
                    conn, info.business_id, MemberIn(name=f"Bench {i}"), channel="api", now=now
                )
            )
    db.dispose()
    return info.api_key, ids, currency


# --- server --------------------------------------------------------------------------------


def worker_pids(master: int) -> list[int]:
    """uvicorn's worker processes are children of the master (via multiprocessing spawn)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Not multiprocessing's resource tracker, which is a child too.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == master and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    # With one worker uvicorn serves from the master process itself.
    return found or [master]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class RssWatch:
    """Samples the workers' summed RSS every 0.2 s while a run goes on; keeps the peak."""

    master: int
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        pids = worker_pids(self.master)
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, sum(rss_mb(p) for p in pids))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# --- wrk -----------------------------------------------------------------------------------

WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d,'
    .. ' "socket_errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

WRK_PURCHASE = """
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
end
function request()
  counter = counter + 1
  local m = MEMBERS[math.random(#MEMBERS)]
  local body = string.format(
    '{"receipt_id": "%s-%d-%d", "amount": 440, "currency": "%s", "member_id": %d,'
    .. ' "items": [{"sku": "LAT", "category": "drinks", "unit_price": 290},'
    .. ' {"sku": "CRO", "category": "bakery", "unit_price": 150}]}',
    TAG, tid, counter, CURRENCY, m)
  return wrk.format("POST", "/api/v1/purchases", HEADERS, body)
end
"""


def wrk_script(path: Path, *, purchase: bool, tag: str, key: str, ids: list[int], cur: str) -> Path:
    headers = '{["Content-Type"] = "application/json", ["Authorization"] = "Bearer ' + key + '"}'
    if purchase:
        members = "{" + ",".join(str(i) for i in ids) + "}"
        text = (
            f'MEMBERS = {members}\nTAG = "{tag}"\nCURRENCY = "{cur}"\nHEADERS = {headers}\n'
            + WRK_PURCHASE
        )
    else:
        body = json.dumps({"receipt_id": "noop", "amount": 440, "currency": cur})
        text = (
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    path.write_text(text + WRK_DONE)
    return path


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    return found


def run_wrk(
    wrk: str, url: str, script: Path, *, connections: int, seconds: int, threads: int = 2
) -> dict[str, float]:
    out = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON ") :])
    seconds_taken = raw["duration_us"] / 1e6
    return {
        "rate": raw["requests"] / seconds_taken,
        "requests": raw["requests"],
        "errors": raw["non2xx"] + raw["socket_errors"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
    }


# --- open loop at a fixed rate -------------------------------------------------------------


async def _fixed_rate(
    port: int, rate: float, seconds: float, key: str, ids: list[int], cur: str, tag: str
) -> dict[str, float]:
    """Request i is due at start + i/rate; its latency counts from then (no coordinated
    omission). 64 keep-alive connections take requests from a shared queue."""
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)

    def request(i: int) -> bytes:
        member = ids[(i * 7919) % len(ids)]
        body = (
            f'{{"receipt_id": "{tag}-{i}", "amount": 440, "currency": "{cur}", '
            f'"member_id": {member}, "items": [{{"sku": "LAT", "category": "drinks", '
            f'"unit_price": 290}}, {{"sku": "CRO", "category": "bakery", "unit_price": 150}}]}}'
        ).encode()
        head = (
            f"POST /api/v1/purchases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        return head + body

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (job := await queue.get()) is not None:
            due, payload = job
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - due)
            if not head.startswith(b"HTTP/1.1 2"):
                errors += 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(64)]
    start = time.perf_counter() + 0.1
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, request(i)))
    for _ in workers:
        queue.put_nowait(None)
    # Bounded: a server far below the rate would otherwise keep the run going for minutes.
    _, late = await asyncio.wait(workers, timeout=seconds + 10)
    for task in late:
        task.cancel()
    elapsed = time.perf_counter() - start
    # Not errors: requests still queued or unanswered when the run stopped waiting, which only
    # happens when the server is slower than the offered rate.
    unanswered = total - len(latencies)
    ordered = sorted(latencies)
    return {
        "rate": len(ordered) / elapsed,
        "requests": len(ordered),
        "errors": errors,
        "unanswered": unanswered,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
    }


# --- main ----------------------------------------------------------------------------------


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]} | {
        "errors": sum(r["errors"] for r in runs),
        "unanswered": sum(r.get("unanswered", 0) for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database")
    parser.add_argument("--keep", metavar="DIR", help="data folder to use and keep")
    parser.add_argument("--json", help="write the run_all summary (bench/benchkit.py) here")
    parser.add_argument(
        "--profile", metavar="FILE", help="py-spy record (collapsed stacks) of one worker"
    )
    args = parser.parse_args()
    # Here, not at the top: uvicorn imports this module as bench.purchases_http for the server.
    from benchkit import free_port, row, start_server, write_json

    wrk = ensure_wrk()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="lealtad-p1-"))
    env = dict(os.environ)
    env["LEALTAD_DATA_DIR"] = str(folder)
    env["LEALTAD_DATABASE_URL"] = args.postgres or f"sqlite:///{folder / 'bench.db'}"
    env["LEALTAD_LOG_LEVEL"] = "warning"
    os.environ.update(env)
    print(f"database: {env['LEALTAD_DATABASE_URL']}", flush=True)
    key, ids, currency = seed(args.members)
    port = free_port()
    server = start_server("bench.purchases_http:bench_app", env, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    noop_runs, buy_runs, fixed_runs = [], [], []
    peak = 0.0
    try:
        noop_script = wrk_script(
            folder / "noop.lua", purchase=False, tag="", key=key, ids=ids, cur=currency
        )
        for n in range(args.repeat):
            with RssWatch(server.pid) as watch:
                noop_runs.append(
                    run_wrk(
                        wrk,
                        base + "/bench/noop",
                        noop_script,
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                )
            script = wrk_script(
                folder / "buy.lua", purchase=True, tag=f"W{n}", key=key, ids=ids, cur=currency
            )
            profiler = None
            if args.profile and n == 0:
                pid = sorted(worker_pids(server.pid))[0]
                # py-spy is not a dependency of the project: uvx fetches it from PyPI if needed.
                spy = ["py-spy"] if shutil.which("py-spy") else ["uvx", "py-spy"]
                profiler = subprocess.Popen(
                    [
                        *spy,
                        "record",
                        "-p",
                        str(pid),
                        "-o",
                        args.profile,
                        "-f",
                        "raw",
                        "-d",
                        str(args.seconds),
                        "-r",
                        "200",
                        "--nonblocking",
                    ]
                )
            with RssWatch(server.pid) as watch:
                buy_runs.append(
                    run_wrk(
                        wrk,
                        base + "/api/v1/purchases",
                        script,
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                )
            peak = max(peak, watch.peak)
            if profiler is not None:
                profiler.wait()
            with RssWatch(server.pid) as watch:
                fixed_runs.append(
                    asyncio.run(
                        _fixed_rate(port, args.rate, args.seconds, key, ids, currency, f"F{n}")
                    )
                )
            peak = max(peak, watch.peak)
            print(
                f"run {n + 1}: no-op {noop_runs[-1]['rate']:.0f}/s, purchases "
                f"{buy_runs[-1]['rate']:.0f}/s ({buy_runs[-1]['errors']:.0f} errors), "
                f"at {args.rate:.0f}/s p99 {fixed_runs[-1]['p99_ms']:.1f} ms",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    verify = subprocess.run(
        [str(Path(sys.executable).parent / "lealtad"), "ledger", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    noop, buy, fixed = median_of(noop_runs), median_of(buy_runs), median_of(fixed_runs)
    print(
        f"\nP1 on {'PostgreSQL' if args.postgres else 'SQLite'}, {args.workers} workers, "
        f"wrk {args.connections} connections, {args.seconds} s x {args.repeat} (medians)"
    )
    print("| run | rate /s | errors (non-2xx + socket) | p50 ms | p99 ms | ratio to no-op |")
    print("|---|---|---|---|---|---|")
    for name, r in (
        ("no-op POST (wrk)", noop),
        ("purchases (wrk)", buy),
        (f"purchases at {args.rate:.0f}/s (open loop)", fixed),
    ):
        print(
            f"| {name} | {r['rate']:,.0f} | {r['errors']:.0f} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['rate'] / noop['rate']:.2f} |"
        )
    print(
        f"open loop at {args.rate:.0f}/s: {fixed['unanswered']:.0f} requests not yet answered when "
        "the run stopped waiting (the server was slower than the offered rate; not errors)"
    )
    print(f"\nP6 server RSS, peak sum over {args.workers} workers under load: {peak:.0f} MB")
    print(f"ledger verify: exit {verify.returncode}: {(verify.stdout or verify.stderr).strip()}")
    where = f"{'PostgreSQL' if args.postgres else 'SQLite'}, {args.workers} workers"
    write_json(
        args.json,
        "P1",
        [
            row(
                f"{where}, purchases (wrk)",
                buy["rate"],
                "purchases/s",
                ">= 2,000/s",
                buy["rate"] / 2000,
            ),
            row(
                f"{where}, purchases / no-op",
                buy["rate"] / noop["rate"],
                "ratio",
                ">= 0.25",
                buy["rate"] / noop["rate"] / 0.25,
            ),
            row(
                f"{where}, p99 at {args.rate:.0f}/s offered",
                fixed["p99_ms"],
                "ms",
                "<= 25 ms at 1,000/s",
                25 / fixed["p99_ms"] if fixed["p99_ms"] else None,
            ),
            row(
                f"{where}, errors: non-2xx or socket (wrk + open loop)",
                buy["errors"] + fixed["errors"],
                "count",
                "0",
                None,
            ),
            row(
                f"{where}, unanswered when the {args.rate:.0f}/s run stopped",
                fixed["unanswered"],
                "requests",
                "",
                None,
            ),
            row(
                f"P6: peak RSS of {args.workers} workers",
                peak,
                "MB",
                "<= 200 MB",
                200 / peak if peak else None,
            ),
        ],
        [f"ledger verify exit {verify.returncode}"],
    )


if __name__ == "__main__":
    main()
