"""The app served by a real uvicorn on a free port in a thread, for tests that need real
concurrency or real sockets (many requests at once, a client address that is not the test
client's). uvicorn's own forwarded-header handling is off, as `lealtad serve` runs it."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def client(url: str) -> httpx.Client:
    limits = httpx.Limits(max_connections=80, max_keepalive_connections=80)
    return httpx.Client(base_url=url, timeout=60, limits=limits, follow_redirects=False)


def burst(send: Callable[[int], httpx.Response], times: int = 60) -> Counter[int]:
    """`times` calls of `send` at once; their status codes. The limiter itself must never
    answer a conflict or a server error, whatever the concurrency."""
    with ThreadPoolExecutor(max_workers=times) as pool:
        answers = list(pool.map(send, range(times)))
    statuses = Counter(answer.status_code for answer in answers)
    broken = [a.text[:200] for a in answers if a.status_code >= 500 or a.status_code == 409]
    assert not broken, f"{statuses}: {broken[:3]}"
    return statuses
