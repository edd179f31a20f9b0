"""What the /metrics middleware and commit hook cost a request.

Run: uv run python bench/metrics_overhead.py [--calls 200000] [--seconds 8] [--rounds 2]
1. In-process: a trivial ASGI app called --calls times bare and wrapped in MetricsMiddleware,
   in a single-process registry and in multiprocess mode (PROMETHEUS_MULTIPROC_DIR); prints
   microseconds per request and the difference.
2. Over HTTP: uvicorn with 2 workers (multiprocess mode) on a fresh SQLite demo database, wrk
   with 16 connections against POST /api/v1/purchases (new receipt each time) and GET /healthz,
   the app with and without the middleware, alternated --rounds times; prints each rate.
The machine is shared and has 2 cores: read part 2 as "within the noise or not", part 1 as the
cost itself."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# --- 1. in process -------------------------------------------------------------------------


class _Route:
    path = "/api/v1/purchases"


async def _inner(scope: Any, receive: Any, send: Any) -> None:
    scope["route"] = _Route  # what FastAPI's router leaves in the scope
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def micro(calls: int) -> None:
    from lealtad.metrics import MetricsMiddleware

    async def noop_send(_message: Any) -> None:
        return None

    async def run(app: Any) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            scope = {"type": "http", "method": "POST", "path": "/api/v1/purchases"}
            await app(scope, None, noop_send)
        return (time.perf_counter() - started) / calls * 1e6

    wrapped = MetricsMiddleware(_inner)
    bare = min(asyncio.run(run(_inner)) for _ in range(3))
    metered = min(asyncio.run(run(wrapped)) for _ in range(3))
    mode = "multiprocess" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "single process"
    print(
        f"  {mode:15} bare {bare:6.2f} us/request, with middleware {metered:6.2f} us/request:"
        f" +{metered - bare:.2f} us"
    )


# --- 2. over HTTP --------------------------------------------------------------------------


def app_with() -> Any:
    from lealtad.api import create_app

    return create_app()


def app_without() -> Any:
    """The same app with the middleware taken out (FastAPI builds its stack at the first call)."""
    from lealtad.api import create_app
    from lealtad.metrics import MetricsMiddleware

    app = create_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not MetricsMiddleware]
    return app


LUA = """
counter = 0
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  counter = counter + 1
  local member = members[math.random(#members)]
  local body = string.format(
    [[{"receipt_id":"M-%d-%d-%d","amount":1250,"currency":"%s","member_id":%d}]],
    os.time(), math.random(1e9), counter, currency, member)
  return wrk.format("POST", "/api/v1/purchases", headers, body)
end
"""


def seed(members_count: int = 200) -> tuple[str, list[int], str]:
    """Migrate, seed the demo business and enrol extra members (in LEALTAD_DATA_DIR)."""
    from benchkit import seed_from_settings

    return seed_from_settings(members_count)


def wrk(url: str, seconds: int, script: str | None) -> float:
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", url]
    if script:
        command[1:1] = ["-s", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"    ({errors.group(1)} non-2xx answers)")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(found.group(1)) if found else 0.0


def http(seconds: int, rounds: int) -> None:
    # Here, not at the top: uvicorn imports this module as bench.metrics_overhead for the server.
    from benchkit import free_port, start_server

    with tempfile.TemporaryDirectory(prefix="lealtad-bench-") as tmp:
        env = dict(os.environ, LEALTAD_DATA_DIR=tmp, LEALTAD_ENV="test", LEALTAD_LOG_LEVEL="error")
        os.environ.update(LEALTAD_DATA_DIR=tmp, LEALTAD_ENV="test")
        key, ids, currency = seed()
        script = Path(tmp) / "purchase.lua"
        members = ",".join(str(i) for i in ids)
        script.write_text(
            f'headers = {{["Authorization"] = "Bearer {key}", '
            f'["Content-Type"] = "application/json"}}\n'
            f'members = {{{members}}}\ncurrency = "{currency}"\n{LUA}'
        )
        for round_ in range(rounds):
            for factory in ("app_without", "app_with"):
                metrics_dir = Path(tmp) / f"metrics-{round_}-{factory}"
                metrics_dir.mkdir()
                server_env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
                port = free_port()
                proc = start_server(
                    f"bench.metrics_overhead:{factory}", server_env, port, 2, settle=1.5
                )
                try:
                    base = f"http://127.0.0.1:{port}"
                    buys = wrk(f"{base}/api/v1/purchases", seconds, str(script))
                    health = wrk(f"{base}/healthz", seconds, None)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                label = "with middleware" if factory == "app_with" else "without        "
                print(
                    f"  round {round_ + 1} {label}: purchases {buys:7.0f}/s   healthz {health:7.0f}/s"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--micro-only", action="store_true")
    parser.add_argument("--mode", choices=["micro"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "micro":
        micro(args.calls)
        return
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print("1. middleware alone, in process:")
    me = [sys.executable, __file__, "--mode", "micro", "--calls", str(args.calls)]
    subprocess.run(
        me, check=True, env={k: v for k, v in os.environ.items() if "MULTIPROC" not in k}
    )
    with tempfile.TemporaryDirectory() as metrics_dir:
        subprocess.run(me, check=True, env=dict(os.environ, PROMETHEUS_MULTIPROC_DIR=metrics_dir))
    if args.micro_only:
        return
    print(f"2. over HTTP, uvicorn 2 workers, wrk 16 connections, {args.seconds}s each:")
    http(args.seconds, args.rounds)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
