"""Real processes for the crash tests: the `lealtad` command and server on a database of their
own (a SQLite file, or a fresh PostgreSQL database), started, waited for and killed."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from lealtad.db.engine import Database
from lealtad.tenancy.tables import businesses
from tests.e2e.test_cli import API_KEY, Run, cli_env, lealtad_command
from tests.e2e.test_demo_serves import free_port
from tests.reliability.state import state_of

SECRET = "reliability-test-secret-key-long-enough-0123456789"
OWNER_PASSWORD = "owner password 123"
STARTUP_SECONDS = 60


def fresh_postgres(server_url: str, name: str) -> str:
    """A new, empty database on the test PostgreSQL server, named for one test."""
    import psycopg

    url = make_url(server_url)
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@dataclass
class Node:
    """One installation: a data directory and, for PostgreSQL, a database URL."""

    data_dir: Path
    database_url: str = ""
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = cli_env(self.data_dir)
        env["LEALTAD_SECRET_KEY"] = SECRET
        env["LEALTAD_LOG_LEVEL"] = "warning"
        if self.database_url:
            env["LEALTAD_DATABASE_URL"] = self.database_url
        return env

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'lealtad.db'}"

    def database(self) -> Database:
        return Database(self.url)

    def cli(self, *args: str, timeout: float = 120) -> Run:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [*lealtad_command(), *args],
            env=self.env,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def run(self, *args: str) -> Run:
        """The same command in this process: no start-up cost where no crash is involved."""
        from typer.testing import CliRunner

        from lealtad.cli import app

        self.data_dir.mkdir(parents=True, exist_ok=True)
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LEALTAD_")}
        env.update({k: v for k, v in self.env.items() if k.startswith("LEALTAD_")})
        result = CliRunner().invoke(app, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    def app(self) -> Any:
        """The application in this process, on this node's database."""
        from fastapi.testclient import TestClient

        from lealtad.api import create_app
        from lealtad.config import Settings

        settings = Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            secret_key=SECRET,
            log_level="warning",
        )
        return TestClient(create_app(settings))

    def spawn(self, *args: str, log: Path) -> subprocess.Popen[str]:
        """The command in the background, its output to `log`; the process itself (not a
        wrapper) so that killing it kills the work."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            proc = subprocess.Popen(
                [*lealtad_command(), *args],
                env=self.env,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.processes.append(proc)
        return proc

    def setup_business(self, slug: str = "shop") -> str:
        """Migrated, with a business earning points (a program in force since 2020, so that
        sales dated in the past earn and can be awarded twice if anything goes wrong) and a
        manager API key; returns the key."""
        for args in (
            ("migrate",),
            (
                "business",
                "create",
                "Crash café",
                "--owner-email",
                "owner@crash.example",
                "--owner-password",
                OWNER_PASSWORD,
                "--slug",
                slug,
            ),
            (
                "program",
                "set",
                "--template",
                "points-per-unit",
                "--business",
                slug,
                "--reason",
                "the crash tests' program",
                "--effective-from",
                "2020-01-01",
            ),
        ):
            run = self.run(*args)
            assert run.code == 0, str(run)
        run = self.run("apikey", "create", "--business", slug, "--role", "manager")
        assert run.code == 0, str(run)
        found = API_KEY.search(run.out)
        assert found, str(run)
        return found.group(0)

    def serve(self, log: Path) -> tuple[subprocess.Popen[str], str]:
        """`lealtad serve` on a free port, started but not waited for (see `ready`): its start-up
        is mostly imports, which the test can overlap with other work."""
        port = free_port()
        proc = self.spawn("serve", "--host", "127.0.0.1", "--port", str(port), log=log)
        return proc, f"http://127.0.0.1:{port}"

    @staticmethod
    def ready(proc: subprocess.Popen[str], base: str, log: Path) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(base_url=base, timeout=5) as http:
            while True:
                assert proc.poll() is None, f"the server exited:\n{log.read_text()}"
                try:
                    if http.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no /healthz:\n{log.read_text()}"
                time.sleep(0.1)

    def stop_all(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def business_id(node: Node, slug: str = "shop") -> int:
    db = node.database()
    try:
        with db.read() as conn:
            return int(conn.scalar(select(businesses.c.id).where(businesses.c.slug == slug)))
    finally:
        db.dispose()


def state(node: Node) -> dict[str, Any]:
    db = node.database()
    try:
        return state_of(db, business_id(node))
    finally:
        db.dispose()


def enrol(http: Any, key: str, members: int = 5, first: int = 0) -> list[int]:
    ids = []
    for n in range(first, first + members):
        made = http.post(
            "/api/v1/members",
            json={"name": f"M{n}", "email": f"m{n}@crash.example"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


_databases = itertools.count()


def node_pair(
    request: pytest.FixtureRequest, tmp_path: Path, prefix: str, kind: type[Node] = Node
) -> Iterator[tuple[Node, Node]]:
    """Two fresh installations on the fixture's database (`request.param`): the one that
    crashes and the uninterrupted reference; their processes are stopped afterwards."""
    pair = []
    for name in ("crashed", "reference"):
        url = ""
        if request.param == "postgresql":
            server = request.getfixturevalue("postgres_url")
            url = fresh_postgres(server, f"{prefix}_{name}_{os.getpid()}_{next(_databases)}")
        pair.append(kind(tmp_path / name, url))
    yield pair[0], pair[1]
    for node in pair:
        node.stop_all()
