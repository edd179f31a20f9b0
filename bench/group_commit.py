"""P1: group commit. Purchases over HTTP with the writer on and off (LEALTAD_GROUP_COMMIT=0),
and with `--rows` the writer without its set-wise purchases (LEALTAD_SETWISE=0), interleaved in
one run on one machine.

Run: uv run python bench/group_commit.py [--workers 2] [--connections 1,32] [--seconds 5]
     [--rounds 3] [--postgres URL_OFF URL_ON]
Two servers, each on its own fresh database seeded like bench/purchases_http.py (demo business,
1,000 members): one with group commit off, one with it on. For each connection count, rounds
alternate off, on, off, on...; each is a wrk run of POST /api/v1/purchases (each request its own
receipt, a member drawn at random). Per run: purchases/s, p50/p99, server CPU per purchase (utime
+ stime of the workers from /proc), and for the writer the jobs per transaction (the
lealtad_group_commit_batch_jobs histogram of /metrics, summed over the workers). Prints medians
and the on/off ratios; then `lealtad ledger verify` of both databases."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from purchases_http import ensure_wrk, run_wrk, seed, worker_pids, wrk_script  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def bench_app() -> object:
    """bench/purchases_http.py's app; BENCH_SWITCH_INTERVAL (seconds) sets the interpreter's
    thread switch interval, for studying the writer thread's wait for the GIL."""
    from purchases_http import bench_app as app

    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    return app()


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def histogram(base: str) -> dict[str, float]:
    """The writer's batch histogram: cumulative buckets, count and sum."""
    text = httpx.get(f"{base}/metrics", timeout=30).text
    out: dict[str, float] = {}
    for name, le, value in re.findall(
        r'^lealtad_group_commit_batch_jobs_(bucket|count|sum)(?:\{le="([^"]+)"\})? (\S+)$',
        text,
        re.M,
    ):
        out[f"le{le}" if le else name] = out.get(f"le{le}" if le else name, 0.0) + float(value)
    return out


def fallback_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=30).text
    found = re.search(r"^lealtad_group_commit_fallbacks_total (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def batch_summary(before: dict[str, float], after: dict[str, float]) -> str:
    count = after.get("count", 0) - before.get("count", 0)
    jobs = after.get("sum", 0) - before.get("sum", 0)
    if not count:
        return "no batches"
    edges = sorted((k for k in after if k.startswith("le")), key=lambda k: float(k[2:]))
    parts, below = [], 0.0
    for edge in edges:
        cumulative = after[edge] - before.get(edge, 0)
        if cumulative - below:
            parts.append(f"<={edge[2:].replace('.0', '')}: {cumulative - below:.0f}")
        below = cumulative
    return f"{jobs / count:.1f} jobs/transaction ({count:.0f} transactions; {', '.join(parts)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--postgres", nargs="+", metavar="URL", help="an empty database each")
    parser.add_argument(
        "--throwaway-postgres",
        action="store_true",
        help="start the test suite's PostgreSQL (tests/pg.py: fsync and synchronous_commit off)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="also run both with sys.setswitchinterval(this) in the server",
    )
    parser.add_argument(
        "--rows",
        action="store_true",
        help="also run the writer with its set-wise purchases off (LEALTAD_SETWISE=0): each "
        "purchase of a batch through purchases.service.record in its savepoint",
    )
    args = parser.parse_args()
    from benchkit import free_port, start_server

    wrk = ensure_wrk()
    pg_server = None
    if args.throwaway_postgres:
        sys.path.insert(0, str(HERE.parent))
        from tests.pg import start_postgres

        pg_server = start_postgres()
        args.postgres = [pg_server.create_database(f"bench_gc_{n}") for n in range(4)]
    folder = Path(tempfile.mkdtemp(prefix="lealtad-gc-"))
    servers: dict[str, tuple[subprocess.Popen[bytes], str, dict[str, str]]] = {}
    keys: dict[str, tuple[str, list[int], str]] = {}
    variants = ["off", "on"]
    if args.rows:
        variants += ["on-rows"]
    if args.switch_interval:
        variants += ["off+si", "on+si"]
    try:
        for n, variant in enumerate(variants):
            data = folder / variant
            (data / "prom").mkdir(parents=True)
            env = dict(os.environ)
            env["LEALTAD_DATA_DIR"] = str(data)
            url = args.postgres[n] if args.postgres else f"sqlite:///{data / 'bench.db'}"
            env["LEALTAD_DATABASE_URL"] = url
            env["LEALTAD_LOG_LEVEL"] = "warning"
            env["LEALTAD_GROUP_COMMIT"] = "1" if variant.startswith("on") else "0"
            if variant.endswith("+si"):
                env["BENCH_SWITCH_INTERVAL"] = str(args.switch_interval)
            env["LEALTAD_SETWISE"] = "0" if variant.endswith("-rows") else "1"
            env["PROMETHEUS_MULTIPROC_DIR"] = str(data / "prom")
            os.environ.update({k: env[k] for k in ("LEALTAD_DATA_DIR", "LEALTAD_DATABASE_URL")})
            keys[variant] = seed(args.members)
            port = free_port()
            server = start_server("bench.group_commit:bench_app", env, port, args.workers)
            servers[variant] = (server, f"http://127.0.0.1:{port}", env)
        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        batches: dict[tuple[str, int], list[str]] = {}
        for connections in [int(c) for c in args.connections.split(",")]:
            for r in range(args.rounds):
                for variant in variants:
                    server, base, _ = servers[variant]
                    key, ids, currency = keys[variant]
                    script = wrk_script(
                        folder / f"{variant}.lua",
                        purchase=True,
                        tag=f"{variant}{connections}r{r}",
                        key=key,
                        ids=ids,
                        cur=currency,
                    )
                    pids = worker_pids(server.pid)
                    hist = histogram(base) if variant.startswith("on") else {}
                    cpu = cpu_seconds(pids)
                    got = run_wrk(
                        wrk,
                        base + "/api/v1/purchases",
                        script,
                        connections=connections,
                        seconds=args.seconds,
                        threads=min(2, connections),
                    )
                    got["cpu_ms"] = 1000 * (cpu_seconds(pids) - cpu) / max(got["requests"], 1)
                    results.setdefault((variant, connections), []).append(got)
                    if variant.startswith("on"):
                        batches.setdefault((variant, connections), []).append(
                            batch_summary(hist, histogram(base))
                        )
                    print(
                        f"c={connections} round {r + 1} {variant:>3}: {got['rate']:,.0f}/s "
                        f"p50 {got['p50_ms']:.1f} ms p99 {got['p99_ms']:.1f} ms "
                        f"cpu {got['cpu_ms']:.2f} ms/purchase errors {got['errors']:.0f}"
                        + (
                            f"; {batches[(variant, connections)][-1]}"
                            if variant.startswith("on")
                            else ""
                        ),
                        flush=True,
                    )
                    time.sleep(0.5)
        fallbacks = {v: fallback_count(base) for v, (_, base, _) in servers.items()}
    finally:
        for server, _, _ in servers.values():
            server.terminate()
            server.wait(timeout=30)
    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nP1 group commit, {where}, {args.workers} workers, {args.seconds} s x {args.rounds}")
    print("| connections | writer | purchases/s | p50 ms | p99 ms | CPU ms/purchase | errors |")
    print("|---|---|---|---|---|---|---|")
    for (variant, connections), runs in results.items():
        med = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
        errors = sum(x["errors"] for x in runs)
        print(
            f"| {connections} | {variant} | {med['rate']:,.0f} | {med['p50_ms']:.1f} | "
            f"{med['p99_ms']:.1f} | {med['cpu_ms']:.2f} | {errors:.0f} |"
        )
    for variant, connections in batches:
        baseline = "off+si" if variant.endswith("+si") else "off"
        off = statistics.median(x["rate"] for x in results[(baseline, connections)])
        on = statistics.median(x["rate"] for x in results[(variant, connections)])
        print(
            f"c={connections} {variant}: on/off {on / off:.2f}x; "
            f"last batches: {batches[(variant, connections)][-1]}"
        )
    for variant, (_, _, env) in servers.items():
        verify = subprocess.run(
            [str(Path(sys.executable).parent / "lealtad"), "ledger", "verify"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        print(f"ledger verify ({variant}): exit {verify.returncode}")
        assert verify.returncode == 0
    print(f"batches re-run one by one (fallbacks): {fallbacks}")
    if pg_server is not None:
        pg_server.stop()


if __name__ == "__main__":
    main()
