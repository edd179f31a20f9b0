"""`lealtad serve` believes X-Forwarded-For only from LEALTAD_TRUSTED_PROXIES. uvicorn's own
default believes it from 127.0.0.1 whatever the setting says, so anyone on the host could pose
as any address: 14 wrong logins, each with another forged header, never reached a lock, and the
audit log wrote down the forged address. Here the real command serves a real socket."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET, sqlite_database
from tests.e2e.test_cli import cli_env, lealtad_command
from tests.security.live import free_port
from tests.support import PASSWORD, Shop, make_shop

LOGIN = "/api/v1/auth/staff-token"


@pytest.fixture
def served_shop(sqlite_template: Path, tmp_path: Path) -> tuple[Path, Shop]:
    db = sqlite_database(sqlite_template, tmp_path)
    shop = make_shop(db, datetime.now(UTC))
    db.dispose()
    return tmp_path / "lealtad.db", shop


@contextmanager
def lealtad_serve(
    database: Path, tmp_path: Path, *options: str, **settings: str
) -> Iterator[httpx.Client]:
    port = free_port()
    env = cli_env(tmp_path / "data") | {
        "LEALTAD_ENV": "test",
        "LEALTAD_SECRET_KEY": SECRET,
        "LEALTAD_DATABASE_URL": f"sqlite:///{database}",
        "LEALTAD_LOG_LEVEL": "warning",
    }
    env |= {f"LEALTAD_{name.upper()}": value for name, value in settings.items()}
    log = (tmp_path / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [*lealtad_command(), "serve", "--port", str(port), *options],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "lealtad serve did not start"
                time.sleep(0.2)
            yield http
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _login(http: httpx.Client, shop: Shop, password: str, forwarded: str) -> int:
    body = {"business": shop.slug, "email": shop.staff_emails["manager"], "password": password}
    return http.post(LOGIN, json=body, headers={"X-Forwarded-For": forwarded}).status_code


def _audited_address(http: httpx.Client, shop: Shop, forwarded: str) -> str:
    made = http.post(
        "/api/v1/locations",
        json={"name": f"Annex {forwarded}", "timezone": "Europe/Madrid"},
        headers=shop.auth("owner") | {"X-Forwarded-For": forwarded},
    )
    assert made.status_code == 201, made.text
    log = http.get("/api/v1/audit-log", headers=shop.auth("owner")).json()
    (entry,) = [e for e in log if e["action"] == "location.create" and forwarded in str(e)]
    return str(entry["ip"])


def test_forged_forwarded_headers_from_the_host_are_not_believed_without_a_trusted_proxy(
    served_shop: tuple[Path, Shop], tmp_path: Path
) -> None:
    database, shop = served_shop
    with lealtad_serve(database, tmp_path) as http:
        for n in range(5):
            assert _login(http, shop, "wrong password", f"203.0.113.{n}") == 401
        # Every try came from 127.0.0.1, whatever each header said: that address is held.
        assert _login(http, shop, PASSWORD, "198.51.100.99") == 429
        assert _audited_address(http, shop, "6.6.6.6") == "127.0.0.1"


def test_a_trusted_proxy_s_forwarded_address_is_the_one_limited_and_audited(
    served_shop: tuple[Path, Shop], tmp_path: Path
) -> None:
    database, shop = served_shop
    with lealtad_serve(database, tmp_path, trusted_proxies="127.0.0.1") as http:
        for _ in range(5):
            assert _login(http, shop, "wrong password", "203.0.113.5") == 401
        assert _login(http, shop, PASSWORD, "203.0.113.5") == 429
        # The owner, elsewhere, is not locked out by someone failing on their account.
        assert _login(http, shop, PASSWORD, "198.51.100.7") == 200
        # The nearest address the proxy saw, not the part the client wrote itself.
        assert _audited_address(http, shop, "6.6.6.6, 203.0.113.9") == "203.0.113.9"


def test_serve_takes_the_workers_health_check_timeout(
    served_shop: tuple[Path, Shop], tmp_path: Path
) -> None:
    # On a loaded machine uvicorn's fixed five seconds restarted workers in a loop.
    database, shop = served_shop
    options = ("--workers", "2", "--worker-healthcheck", "60")
    with lealtad_serve(database, tmp_path, *options) as http:
        answer = http.get("/api/v1/business", headers=shop.auth())
        assert answer.status_code == 200, answer.text
    assert "--worker-healthcheck" in lealtad_help("serve")


def lealtad_help(command: str) -> str:
    shown = subprocess.run(
        [*lealtad_command(), command, "--help"],
        capture_output=True,
        text=True,
        env=cli_env(Path("/nonexistent")),
        check=True,
    )
    return shown.stdout
