"""P6 (server): the memory of the app's processes.

Run: uv run python bench/app_memory.py                 # one process, right after create_app()
     uv run python bench/app_memory.py --load 8 [--workers 2] [--rounds 2] [--members 200]
         [--variants spawn,preload,spawn+arenas16,preload+arenas16] [--before-src DIR]

Without --load: the resident size (RSS) and proportional size (PSS) of this process after
`create_app()`, and which heavy modules it loaded (numpy, scipy, httpx, ...: the API never needs
them; tests/unit/test_import_weight.py keeps them out).

With --load: a fresh SQLite database with the demo business, then for each variant in turn (the
variants alternate, round after round, so the machine's noise falls on all of them), `lealtad
serve --workers N` on a free port, wrk with 32 connections on POST /api/v1/purchases for the given
seconds (the P1 load), sampling every 0.2 s the RSS and the PSS of every server process from
/proc/PID/smaps_rollup. RSS counts a page shared by two processes in both; PSS splits it between
them, so the PSS summed over the processes is the memory they really hold together.
  spawn     uvicorn's own workers (`--workers N`): each a fresh interpreter that imports the app
  preload   `--workers N --preload`: the app built once in the supervisor, the workers forked
  +arenas16 with MALLOC_ARENA_MAX=16, glibc's own default on 2 cores (`lealtad serve` sets 2)
  before    with --before-src DIR (e.g. `git archive COMMIT src | tar -x -C DIR`): `lealtad serve
            --workers N` running that source instead, for a before/after in one run
Prints per variant the medians over rounds of: peak summed RSS of the workers (the P6 figure as
architecture.md states it), peak summed PSS of all server processes (supervisor included), and
each worker's RSS/PSS after the load."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "scipy", "httpx", "rich", "pygments", "click", "segno", "argon2", "pyotp")


def memory_kb(pid: int | str = "self") -> tuple[int, int]:
    """(RSS, PSS) in kB from /proc/PID/smaps_rollup; (0, 0) for a process gone meanwhile."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def open_databases(pid: int) -> int:
    """How many SQLite connections the process holds: its open descriptors on the .db file."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return 0
    return sum(1 for link in links if link.endswith(".db"))


def floor() -> None:
    from lealtad.api import create_app

    create_app()
    rss, pss = memory_kb()
    loaded = [name for name in HEAVY if name in sys.modules]
    print(
        f"after create_app(): RSS {rss / 1024:.1f} MB, PSS {pss / 1024:.1f} MB; "
        f"heavy modules loaded: {', '.join(loaded) or 'none'}"
    )


# --- under load ----------------------------------------------------------------------------


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # Not multiprocessing's resource tracker (uvicorn's spawned workers start one).
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Watch:
    """Samples every 0.2 s; keeps the peaks of the summed RSS of the workers and of the summed
    PSS of all server processes, and the last sample of each worker."""

    master: int
    peak_rss_workers: float = 0.0
    peak_pss_all: float = 0.0
    last: dict[int, tuple[int, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Watch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        workers = children(self.master)
        while True:
            sample = {pid: memory_kb(pid) for pid in workers}
            master = memory_kb(self.master)
            self.peak_rss_workers = max(self.peak_rss_workers, sum(r for r, _ in sample.values()))
            self.peak_pss_all = max(
                self.peak_pss_all, master[1] + sum(p for _, p in sample.values())
            )
            self.last = sample
            if self._stop.wait(0.2):
                return

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def start(
    variant: str, env: dict[str, str], workers: int, before_src: str = ""
) -> subprocess.Popen[bytes]:
    from benchkit import _healthy, free_port

    port = free_port()
    command = [str(Path(sys.executable).parent / "lealtad"), "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    if variant.startswith("preload"):
        command.append("--preload")
    env = dict(env)
    if "arenas16" in variant:
        env["MALLOC_ARENA_MAX"] = "16"
    if variant == "before":
        env["PYTHONPATH"] = str(Path(before_src) / "src")
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _healthy(port):
            time.sleep(1.0)  # every worker started
            proc.port = port  # type: ignore[attr-defined]
            return proc
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"{variant}: the server did not start")


def under_load(args: argparse.Namespace) -> None:
    from purchases_http import ensure_wrk, run_wrk, seed, wrk_script

    wrk = ensure_wrk()
    folder = Path(tempfile.mkdtemp(prefix="lealtad-p6-"))
    env = dict(os.environ)
    env["LEALTAD_DATA_DIR"] = str(folder)
    env["LEALTAD_DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    env["LEALTAD_LOG_LEVEL"] = "warning"
    os.environ.update(env)
    key, ids, currency = seed(args.members)
    variants = args.variants.split(",") + (["before"] if args.before_src else [])
    results: dict[str, list[tuple[float, float, float, str]]] = {v: [] for v in variants}
    for n in range(args.rounds):
        for variant in variants:
            server = start(variant, env, args.workers, args.before_src)
            try:
                script = wrk_script(
                    folder / "buy.lua",
                    purchase=True,
                    tag=f"{variant}-{n}",
                    key=key,
                    ids=ids,
                    cur=currency,
                )
                url = f"http://127.0.0.1:{server.port}/api/v1/purchases"  # type: ignore[attr-defined]
                with Watch(server.pid) as watch:
                    done = run_wrk(wrk, url, script, connections=32, seconds=args.load)
                connections = [open_databases(pid) for pid in sorted(watch.last)]
            finally:
                server.terminate()
                server.wait(timeout=30)
            each = " ".join(
                f"{r / 1024:.0f}/{p / 1024:.0f}" for r, p in sorted(watch.last.values())
            )
            results[variant].append(
                (watch.peak_rss_workers / 1024, watch.peak_pss_all / 1024, done["rate"], each)
            )
            print(
                f"round {n + 1} {variant:16s} peak RSS workers {watch.peak_rss_workers / 1024:6.1f}"
                f" MB, peak PSS all {watch.peak_pss_all / 1024:6.1f} MB, {done['rate']:.0f}"
                f" purchases/s, {done['errors']:.0f} errors; RSS/PSS per worker after: {each};"
                f" SQLite connections per worker: {connections}",
                flush=True,
            )
    print(f"\nmedians over {args.rounds} rounds, {args.workers} workers, wrk 32 connections:")
    print("| variant | peak RSS, workers summed | peak PSS, all processes summed | purchases/s |")
    print("|---|---|---|---|")
    for variant, rows in results.items():
        rss = statistics.median(r[0] for r in rows)
        pss = statistics.median(r[1] for r in rows)
        rate = statistics.median(r[2] for r in rows)
        print(f"| {variant} | {rss:.0f} MB | {pss:.0f} MB | {rate:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, metavar="SECONDS", help="serve and measure under load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--variants", default="spawn,preload")
    parser.add_argument("--before-src", default="", metavar="DIR", help="adds the variant before")
    args = parser.parse_args()
    if args.load:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        under_load(args)
    else:
        floor()


if __name__ == "__main__":
    main()
