"""The app served by uvicorn on a free port, for tests that go through a real server as a phone
does: the wallet's pass web service, and the links a member follows from an e-mail."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from lealtad.api import create_app
from lealtad.config import Settings


def free_base_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@contextmanager
def serving(settings: Settings, db, clock) -> Iterator[str]:
    """Serves the app at `settings.base_url` (made with free_base_url) until the block ends."""
    port = int(str(settings.base_url).rsplit(":", 1)[1])
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db=db, clock=clock),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield str(settings.base_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
