"""Browser tests: the app served by a real uvicorn on a free port, driven by Playwright in
Debian's headless Chromium, with e-mail going to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from tests.comms.conftest import Inbox, _free_port
from tests.conftest import SECRET, sqlite_database

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine's network is closed: without these Chromium keeps dialling out.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    db: Database
    settings: Settings
    inbox: Inbox


def _chromium() -> str | None:
    for candidate in (os.environ.get("LEALTAD_CHROMIUM"), "chromium", "/usr/bin/chromium"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI") or os.environ.get("LEALTAD_REQUIRE_BROWSER"):
            pytest.fail("Chromium is needed for the browser tests: apt-get install chromium")
        pytest.skip("Chromium is not installed here")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh database and a server of its own per test, so tests never share a business."""
    from aiosmtpd.controller import Controller

    box, smtp_port = Inbox(), _free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    port = _free_port()
    settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        log_level="warning",
        base_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
    )
    db = sqlite_database(sqlite_template, tmp_path)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db=db), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", db, settings, box)
    server.should_exit = True
    thread.join(timeout=10)
    smtp.stop()
    db.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # The tests read the page with Playwright's string expressions and injected helpers, which
    # the content security policy forbids; tests/browser/test_content_security_policy.py checks
    # the pages under the policy itself.
    context = browser.new_context(locale="es-ES", bypass_csp=True)
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def until(page: Any, script: str, arg: Any = None, seconds: float = 30.0) -> None:
    """Polls `script` with `page.evaluate`, which a Content-Security-Policy without
    'unsafe-eval' lets run: `wait_for_function` evaluates its string inside the page, which such
    a policy refuses as soon as the first check is false and it has to poll (a flake seen in CI).
    Pages opened with `bypass_csp` (the `page` fixture) may use either."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {script}"
        time.sleep(0.1)
