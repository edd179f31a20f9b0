"""`lealtad serve --workers N --preload`: the app is built once, in the supervising process, and
the workers are forked from it. What the import and the app factory made (the code of every
module, the routes, the models) then stays one copy in memory, shared copy-on-write, instead of
one copy per worker as with uvicorn's own workers, which each start a fresh interpreter.

The supervisor never serves and never opens a database connection: a worker that dies is forked
again from the same clean image. Ctrl+C or SIGTERM stops the workers (each finishes its
requests, as uvicorn does) and then the supervisor."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import time
from typing import TYPE_CHECKING, Any

from starlette.routing import Mount

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lealtad.serving import Address

# A worker that exits this soon after its start failed to start: forking it again would loop.
STARTUP_GRACE_SECONDS = 5.0
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def walk_routes(app: FastAPI) -> None:
    """Match an address that no route answers, so that every route is visited once. FastAPI builds
    an included router's routes on their first visit (validation models, handlers: about 10 MB
    for this app); built here, before the fork, they are shared by every worker instead of being
    built again in each one at its first request."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/.no-route-answers-this",
        "root_path": "",
        "headers": [],
        "query_string": b"",
        "app": app,
    }

    def walk(routes: list[Any]) -> None:
        for route in routes:
            route.matches(scope)
            # A mounted application or router (the pages mounted apart from the API, say):
            # its routes are built on their first visit too.
            mounted = getattr(route, "app", None)
            inner = getattr(getattr(mounted, "router", mounted), "routes", None)
            if isinstance(route, Mount) and isinstance(inner, list):
                walk(inner)

    walk(app.router.routes)


def build_app() -> FastAPI:
    from lealtad.api import create_app

    app = create_app()
    walk_routes(app)
    # No pooled connection may cross the fork: each worker opens its own.
    app.state.db.engine.dispose()
    return app


def serve(where: Address, workers: int, log_level: str) -> None:
    import uvicorn

    app = build_app()
    config = uvicorn.Config(
        app,
        host=where.host,
        port=where.port,
        access_log=False,
        log_level=log_level,
        # As in serving.run: forwarded headers are the app's business (security/proxies.py).
        proxy_headers=False,
        ws="none",
    )
    # uvicorn's protocol, lifespan and event-loop modules, imported here once rather than by
    # each worker as it starts.
    config.load()
    config.get_loop_factory()
    listening = config.bind_socket()
    # Everything made so far lives as long as the process: out of the collector's sight, a
    # collection in a worker does not write to (and so copy) the pages those objects sit on.
    gc.freeze()
    started: dict[int, float] = {}
    stopping = failed = False

    def fork_worker() -> None:
        # Stop signals wait until both sides of the fork are in order. Unblocked, a SIGTERM could
        # reach the new worker before it drops the supervisor's handler (CPython then ignores it
        # "due to race condition" and the worker serves on), or run the supervisor's handler
        # before the new pid is in `started`; either way that worker was never stopped.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            # A stop sent meanwhile is delivered now, and ends the worker as SIG_DFL does.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            code = 1
            try:
                server = uvicorn.Server(config)
                server.run(sockets=[listening])
                code = 0 if server.started else 3  # 3: uvicorn's own "could not start"
            finally:
                os._exit(code)
        started[pid] = time.monotonic()
        if stopping:  # the stop came while this worker was being forked
            os.kill(pid, signal.SIGTERM)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        fork_worker()
    try:
        while started:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            began = started.pop(pid, None)
            if stopping or began is None:
                continue
            gave_up = os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0
            if gave_up and time.monotonic() - began < STARTUP_GRACE_SECONDS:
                failed = True  # a worker that cannot start: stop them all rather than loop
                stop(signal.SIGTERM, None)
                continue
            fork_worker()  # killed (the OOM killer, an operator) or failed later: replaced
    finally:
        listening.close()
    if failed:
        raise SystemExit(1)
