"""Every benchmark in one command, and a summary table at the top of docs/benchmarks.md.

Run: bench/run_all [--quick] [--postgres] [--only P3,P4] [--no-write]
Each script runs with `--json FILE` (the shape is in bench/benchkit.py); a script that is missing
is skipped with a message, and one that writes no summary is listed with its exit code and the
last line it printed. --quick uses small sizes (a few minutes in all); without it, the sizes of
the figures in docs/benchmarks.md (an hour or more: P5 generates 10M purchases). --postgres
starts a throwaway PostgreSQL server (tests/pg.py: initdb and pg_ctl in /tmp) and also runs the
scripts that take `--postgres URL` on a fresh database each. The table goes between the
run_all markers in docs/benchmarks.md, with the machine, the load and each command."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"


@dataclass
class Bench:
    target: str
    script: str
    quick: list[str]
    full: list[str]
    postgres: bool  # also run on PostgreSQL when --postgres is given


BENCHES = [
    Bench("P1", "purchases_http.py", ["--seconds", "3", "--repeat", "1"], [], True),
    Bench("P2", "import_purchases.py", ["--rows", "20000", "--members", "1000"], [], True),
    Bench("P3", "rules_eval.py", ["--seconds", "1"], ["--seconds", "5"], False),
    Bench("P4", "redemptions.py", ["--members", "200"], ["--members", "1000"], True),
    Bench(
        "P5",
        "dashboard.py",
        ["--members", "5000", "--purchases", "50000", "--repeat", "3"],
        ["--repeat", "5"],
        True,
    ),
]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    cores = os.cpu_count()
    mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    gib = int(mem.group(1)) / 1024 / 1024 if mem else 0
    return f"{model.group(1).strip() if model else 'unknown CPU'}, {cores} cores, {gib:.0f} GiB RAM"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(bench: Bench, args: list[str], timeout: float) -> tuple[dict[str, Any] | None, str]:
    script = ROOT / "bench" / bench.script
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    out.unlink()
    command = ["uv", "run", "python", f"bench/{bench.script}", *args]
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    if "--json" in help_text:
        command += ["--json", str(out)]
    print(f"$ {' '.join(command)}", flush=True)
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"stopped after {timeout:.0f} s"
    last = [line for line in done.stdout.splitlines() if line.strip()][-1:] or ["(no output)"]
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"exit {done.returncode}: {tail[:200]}"
    if out.exists():
        summary: dict[str, Any] = json.loads(out.read_text())
        out.unlink()
        summary["command"] = " ".join(command[:-2])
        return summary, ""
    return None, f"no --json summary; last line: {last[0][:200]}"


def table(
    results: list[tuple[Bench, str, dict[str, Any] | None, str]], quick: bool, start_load: str
) -> str:
    lines = [
        BEGIN,
        "## Latest run_all",
        "",
        f"`bench/run_all{' --quick' if quick else ''}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"machine: {machine()}; load average (1, 5, 15 min) at the start {start_load}. "
        "Quick sizes are smaller than the targets' and only show that each path works and "
        "roughly how fast: the sections below hold the measured figures.",
        "",
        "| target | case | value | unit | target | ratio |",
        "|---|---|---|---|---|---|",
    ]
    commands = []
    for bench, _load, summary, problem in results:
        if summary is None:
            lines.append(f"| {bench.target} | {problem} (load {_load}) | | | | |")
            continue
        for row in summary["rows"]:
            ratio = "" if row.get("ratio") is None else f"{row['ratio']:.2f}"
            value = row["value"]
            shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
            lines.append(
                f"| {bench.target} | {row['case']} | {shown} | {row['unit']} | "
                f"{row.get('target', '')} | {ratio} |"
            )
        # The throwaway server's URL means nothing after the run.
        shown_command = re.sub(r"--postgres \S+", "--postgres URL", summary["command"])
        commands.append(f"- {bench.target}: `{shown_command}`")
    lines += ["", "Commands:", "", *commands, END]
    return "\n".join(lines)


def write_doc(block: str) -> None:
    text = DOC.read_text()
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        # Right under the title, above the per-target sections.
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{block}\n{rest}"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    parser.add_argument("--only", default="", help="comma-separated targets, e.g. P3,P4")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the doc")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per script")
    args = parser.parse_args()
    timeout = args.timeout or (600 if args.quick else 4 * 3600)
    wanted = {t.strip() for t in args.only.split(",") if t.strip()}
    server, start_load = None, load()
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from tests.pg import start_postgres

        server = start_postgres()
    results: list[tuple[Bench, str, dict[str, Any] | None, str]] = []
    try:
        for n, bench in enumerate(BENCHES):
            if wanted and bench.target not in wanted:
                continue
            if not (ROOT / "bench" / bench.script).exists():
                print(f"{bench.target}: bench/{bench.script} is missing, skipped")
                results.append((bench, load(), None, f"bench/{bench.script} missing: skipped"))
                continue
            sizes = bench.quick if args.quick else bench.full
            targets = [sizes]
            if server is not None and bench.postgres:
                targets.append([*sizes, "--postgres", server.create_database(f"run_all_{n}")])
            for extra in targets:
                started, before = time.perf_counter(), load()
                summary, problem = run(bench, extra, timeout)
                print(f"  {time.perf_counter() - started:.0f} s {problem}", flush=True)
                results.append((bench, before, summary, problem))
    finally:
        if server is not None:
            server.stop()
    block = table(results, args.quick, start_load)
    print(block)
    if not args.no_write:
        write_doc(block)
        print(f"written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
