"""P1 and P6 (server): purchases through POST /api/v1/purchases, full path, against a real server.

Run: uv run python bench/purchases_http.py [--workers 2] [--connections 32] [--seconds 10]
     [--repeat 3] [--rate 1000] [--members 1000] [--postgres postgresql+psycopg://...]
     (--workers 1,2,4 compares worker counts in the same run, each its own server)
Creates a fresh database (SQLite file in a temporary folder unless --postgres names an empty
database) with the demo business and extra members, starts uvicorn with N workers serving
lealtad.api with a no-op route placed and built like the purchase route (this module's
bench_app: in the purchase router right behind POST /api/v1/purchases, taking the same body
model, idempotency header, principal, database, clock and settings; it exists only here), and a
second server with a bare FastAPI no-op app (one async POST route, nothing else), then on the
same machine, the variants one after the other in each round:
  1. wrk against the bare FastAPI no-op: the floor of the framework and server;
  2. wrk against the no-op in the purchase route's place, with an API key: the reference
     the P1 ratio is taken against;
  3. wrk against POST /api/v1/purchases, each request with its own receipt and a member drawn
     from the spread (API-key auth, rules, ledger, tiers, outbox, idempotency);
  4. an open-loop generator at a fixed rate (default 1,000/s) for the purchase latency, timed
     from when each request was due, so a stalled server cannot hide its queue (first worker
     count only);
then `lealtad ledger verify`. Prints medians of the repeats, the ratios to both no-ops, the
server's CPU per request (its processes' user + system time from /proc over the run, divided
by the requests answered) and the peak server RSS (sum over the worker processes, from /proc).
Targets: architecture.md P1, P6. wrk comes from Debian (installed with apt-get when missing and
running as root)."""

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent


class NoopIn(BaseModel):
    receipt_id: str
    amount: int
    currency: str


NOOP_PATH = "/api/v1/bench/noop"


def bench_app() -> FastAPI:
    """The real app with a no-op placed and built like the purchase route (bench/http_edge.py
    adds it to the purchase router). It lives here, not in lealtad.api, so production never
    has it."""
    try:
        from bench.http_edge import add_noop_routes
    except ImportError:  # run as a script: bench/ itself is on the path
        from http_edge import add_noop_routes  # type: ignore[import-not-found,no-redef]
    from lealtad.api import create_app

    add_noop_routes()
    return create_app()


def bare_app() -> FastAPI:
    """FastAPI with one async POST no-op (and the health check the start-up waits for)."""
    app = FastAPI()

    @app.post("/noop")
    async def noop(body: NoopIn) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


# --- setup ---------------------------------------------------------------------------------


def seed(members_count: int) -> tuple[str, list[int], str]:
    """Migrate, seed the demo business and enrol extra members; (api key, member ids, currency)."""
    from benchkit import seed_from_settings

    return seed_from_settings(members_count)


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


def cpu_seconds(master: int) -> float:
    """User + system CPU of the server: the master and its worker processes, from /proc."""
    total = 0.0
    for pid in {master, *worker_pids(master)}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


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
  return wrk.format("POST", PATH, HEADERS, body)
end
"""


def wrk_script(
    file: Path,
    *,
    purchase: bool,
    tag: str,
    key: str,
    ids: list[int],
    cur: str,
    path: str = "/api/v1/purchases",
) -> Path:
    headers = '{["Content-Type"] = "application/json", ["Authorization"] = "Bearer ' + key + '"}'
    if purchase:
        members = "{" + ",".join(str(i) for i in ids) + "}"
        text = (
            f'MEMBERS = {members}\nTAG = "{tag}"\nCURRENCY = "{cur}"\nHEADERS = {headers}\n'
            f'PATH = "{path}"\n' + WRK_PURCHASE
        )
    else:
        body = json.dumps({"receipt_id": "noop", "amount": 440, "currency": cur})
        text = (
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    file.write_text(text + WRK_DONE)
    return file


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


def measured(
    server: subprocess.Popen[bytes], run: Callable[[], dict[str, float]]
) -> dict[str, float]:
    """A run with the server's CPU per request answered (ms) and its peak RSS added."""
    before = cpu_seconds(server.pid)
    with RssWatch(server.pid) as watch:
        result = run()
    used = cpu_seconds(server.pid) - before
    result["cpu_ms"] = used / max(result["requests"], 1) * 1000
    result["rss_mb"] = watch.peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", default="2", help="worker processes; a list (1,2,4) compares them"
    )
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
    counts = [int(n) for n in str(args.workers).split(",")]
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
    # One app server and one bare server per worker count, all up at once: each round runs
    # every variant on every count in turn, so a busy moment of the machine hits all alike.
    servers: dict[int, tuple[int, subprocess.Popen[bytes], int, subprocess.Popen[bytes]]] = {}
    runs: dict[tuple[int, str], list[dict[str, float]]] = {}
    fixed_runs: list[dict[str, float]] = []
    try:
        for count in counts:
            port, bare_port = free_port(), free_port()
            app = start_server("bench.purchases_http:bench_app", env, port, count)
            bare = start_server("bench.purchases_http:bare_app", env, bare_port, count)
            servers[count] = (port, app, bare_port, bare)
        bare_script = wrk_script(
            folder / "bare.lua", purchase=False, tag="", key=key, ids=ids, cur=currency
        )
        for n in range(args.repeat):
            for count, (port, app, bare_port, bare) in servers.items():
                base, bare_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"

                def load(url: str, script: Path) -> Callable[[], dict[str, float]]:
                    return lambda: run_wrk(
                        wrk, url, script, connections=args.connections, seconds=args.seconds
                    )

                noop_script = wrk_script(
                    folder / "noop.lua", purchase=True, tag=f"N{count}-{n}", key=key, ids=ids,
                    cur=currency, path=NOOP_PATH,
                )  # fmt: skip
                buy_script = wrk_script(
                    folder / "buy.lua", purchase=True, tag=f"W{count}-{n}", key=key, ids=ids,
                    cur=currency,
                )  # fmt: skip
                for variant, server, run in (
                    ("bare", bare, load(bare_base + "/noop", bare_script)),
                    ("noop", app, load(base + NOOP_PATH, noop_script)),
                    ("buy", app, load(base + "/api/v1/purchases", buy_script)),
                ):
                    profiler = None
                    if args.profile and variant == "buy" and n == 0 and count == counts[0]:
                        profiler = start_profile(app.pid, args.profile, args.seconds)
                    runs.setdefault((count, variant), []).append(measured(server, run))
                    if profiler is not None:
                        profiler.wait()
                if count == counts[0]:
                    fixed_runs.append(
                        measured(
                            app,
                            lambda port=port, n=n: asyncio.run(  # type: ignore[misc]
                                _fixed_rate(
                                    port, args.rate, args.seconds, key, ids, currency, f"F{n}"
                                )
                            ),
                        )
                    )
                print(
                    f"run {n + 1}, {count} workers: bare no-op {runs[count, 'bare'][-1]['rate']:.0f}"
                    f"/s, no-op in place {runs[count, 'noop'][-1]['rate']:.0f}/s, purchases "
                    f"{runs[count, 'buy'][-1]['rate']:.0f}/s ({runs[count, 'buy'][-1]['errors']:.0f}"
                    " errors)",
                    flush=True,
                )
    finally:
        for _, app, _, bare in servers.values():
            for proc in (app, bare):
                proc.terminate()
                proc.wait(timeout=30)
    verify = subprocess.run(
        [str(Path(sys.executable).parent / "lealtad"), "ledger", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"\nP1 on {database}, wrk {args.connections} connections, {args.seconds} s x "
        f"{args.repeat} rounds, variants interleaved (medians; CPU = the server's processes)"
    )
    print(
        "| workers | run | rate /s | errors | p50 ms | p99 ms | server CPU ms/request | "
        "/ bare no-op | / no-op in place |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    medians = {k: median_of(v) for k, v in runs.items()}
    names = {
        "bare": "bare FastAPI no-op",
        "noop": "no-op in the purchase's place",
        "buy": "purchases (wrk)",
    }
    for count in counts:
        bare_rate, noop_rate = medians[count, "bare"]["rate"], medians[count, "noop"]["rate"]
        for variant, name in names.items():
            r = medians[count, variant]
            print(
                f"| {count} | {name} | {r['rate']:,.0f} | {r['errors']:.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['cpu_ms']:.2f} | {r['rate'] / bare_rate:.2f} | "
                f"{r['rate'] / noop_rate:.2f} |"
            )
    first = counts[0]
    fixed = median_of(fixed_runs)
    buy, noop = medians[first, "buy"], medians[first, "noop"]
    print(
        f"| {first} | purchases at {args.rate:.0f}/s (open loop) | {fixed['rate']:,.0f} | "
        f"{fixed['errors']:.0f} | {fixed['p50_ms']:.1f} | {fixed['p99_ms']:.1f} | "
        f"{fixed['cpu_ms']:.2f} | | |"
    )
    print(
        f"open loop at {args.rate:.0f}/s: {fixed['unanswered']:.0f} requests not yet answered when "
        "the run stopped waiting (the server was slower than the offered rate; not errors)"
    )
    peak = max(r["rss_mb"] for r in runs[first, "buy"] + fixed_runs)
    print(f"\nP6 server RSS, peak sum over {first} workers under load: {peak:.0f} MB")
    print(f"ledger verify: exit {verify.returncode}: {(verify.stdout or verify.stderr).strip()}")
    where = f"{database}, {first} workers"
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
                f"{where}, purchases / no-op in the purchase's place",
                buy["rate"] / noop["rate"],
                "ratio",
                ">= 0.4",
                buy["rate"] / noop["rate"] / 0.4,
            ),
            row(
                f"{where}, purchases / bare FastAPI no-op",
                buy["rate"] / medians[first, "bare"]["rate"],
                "ratio",
                "",
                None,
            ),
            row(f"{where}, server CPU per purchase", buy["cpu_ms"], "ms", "", None),
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
                f"P6: peak RSS of {first} workers",
                peak,
                "MB",
                "<= 200 MB",
                200 / peak if peak else None,
            ),
            *(
                row(
                    f"{database}, {c} workers, purchases (wrk)",
                    medians[c, "buy"]["rate"],
                    "purchases/s",
                    "",
                    None,
                )
                for c in counts[1:]
            ),
        ],
        [f"ledger verify exit {verify.returncode}"],
    )


def start_profile(master: int, output: str, seconds: int) -> subprocess.Popen[bytes]:
    pid = sorted(worker_pids(master))[0]
    # py-spy is not a dependency of the project: uvx fetches it from PyPI if needed.
    spy = ["py-spy"] if shutil.which("py-spy") else ["uvx", "py-spy"]
    return subprocess.Popen(
        [*spy, "record", "-p", str(pid), "-o", output, "-f", "raw", "-d", str(seconds),
         "-r", "200", "--nonblocking"]
    )  # fmt: skip


if __name__ == "__main__":
    main()
