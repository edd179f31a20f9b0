"""Purchases through HTTP on SQLite and on PostgreSQL, with the CPU split between app and database.

Run: uv run python bench/sqlite_vs_postgres.py [--seconds 10] [--connections 16]
For each database: a fresh demo business with 200 members (PostgreSQL: a throwaway server
started like the test run's, tests/pg.py, fsync off), uvicorn with 2 app processes,
wrk with --connections connections posting purchases (a new receipt each, a random member);
prints purchases/s, wrk's latency percentiles, and the CPU seconds the app processes and the
PostgreSQL processes used during the run (from /proc), i.e. where one machine's cores go.
Numbers from a shared 2-core machine: record `uptime` beside them."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchkit import free_port, start_server
from bench.metrics_overhead import LUA, seed

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def postmaster(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def run(
    label: str, env: dict[str, str], seconds: int, connections: int, db_pid: int | None
) -> None:
    key, ids, currency = seed()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "purchase.lua"
        members = ",".join(str(i) for i in ids)
        script.write_text(
            f'headers = {{["Authorization"] = "Bearer {key}", '
            f'["Content-Type"] = "application/json"}}\n'
            f'members = {{{members}}}\ncurrency = "{currency}"\n{LUA}'
        )
        port = free_port()
        proc = start_server("bench.metrics_overhead:app_with", env, port, 2, settle=1.5)
        try:
            app_pids = descendants(proc.pid)
            db_pids = descendants(db_pid) if db_pid else []
            app0, db0 = cpu_seconds(app_pids), cpu_seconds(db_pids)
            command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
            out = subprocess.run(
                [*command, "-s", str(script), f"http://127.0.0.1:{port}/api/v1/purchases"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            db_pids = descendants(db_pid) if db_pid else []
            app_cpu, db_cpu = cpu_seconds(app_pids) - app0, cpu_seconds(db_pids) - db0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"\s+(50|90|99)%\s+(\S+)", out))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(
        f"{label:10} {rate:7.0f} purchases/s  p50 {pct.get('50')}  p90 {pct.get('90')}  "
        f"p99 {pct.get('99')}  non-2xx {errors.group(1) if errors else 0}  "
        f"CPU s: app {app_cpu:.1f}, database {db_cpu:.1f} (wall {seconds}s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="lealtad-bench-") as tmp:
        env = dict(os.environ, LEALTAD_DATA_DIR=tmp, LEALTAD_ENV="test", LEALTAD_LOG_LEVEL="error")
        env.pop("LEALTAD_DATABASE_URL", None)
        os.environ.update(LEALTAD_DATA_DIR=tmp, LEALTAD_ENV="test")
        os.environ.pop("LEALTAD_DATABASE_URL", None)
        run("SQLite", env, args.seconds, args.connections, None)
    from tests.pg import start_postgres

    server = start_postgres()
    try:
        url = server.create_database("bench_scaling")
        with tempfile.TemporaryDirectory(prefix="lealtad-bench-") as tmp:
            env = dict(
                os.environ,
                LEALTAD_DATA_DIR=tmp,
                LEALTAD_ENV="test",
                LEALTAD_LOG_LEVEL="error",
                LEALTAD_DATABASE_URL=url,
            )
            os.environ.update(LEALTAD_DATA_DIR=tmp, LEALTAD_DATABASE_URL=url)
            run("PostgreSQL", env, args.seconds, args.connections, postmaster(server.root / "data"))
    finally:
        server.stop()
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
