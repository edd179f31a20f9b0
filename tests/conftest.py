"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.kit.clock import FixedClock
from lealtad.security.crypto import FieldKeys
from lealtad.wiring import wire
from tests.pg import PostgresServer, start_postgres
from tests.support import Shop, make_shop

SECRET = "test-secret-key-that-is-long-enough-for-prod-0123456789"
DIALECTS = ["sqlite", "postgresql"]
# The personal-data keys the `settings` fixture's apps derive from SECRET (security/fields.py), so
# that a test writing through `db` and one reading through `client` agree.
KEYS = FieldKeys.derived(SECRET)
# Tests call the services directly, as an entry point does: the ledger's subscribers first.
wire()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The whole run ends holding several GB of objects (6.4 GB RSS measured), and the
    # interpreter's last garbage collections walked them for about three minutes after the
    # summary was printed. Frozen objects are left out of those walks; the process exits anyway.
    gc.freeze()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    url = os.environ.get("LEALTAD_TEST_POSTGRES_URL")
    if url:
        yield None
        return
    try:
        server = start_postgres()
    except Exception as exc:
        if os.environ.get("CI") or os.environ.get("LEALTAD_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"PostgreSQL not available here: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer | None) -> str:
    if postgres_server is None:
        return os.environ["LEALTAD_TEST_POSTGRES_URL"]
    return postgres_server.create_database("lealtad_test")


@pytest.fixture(scope="session")
def postgres_db(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url, keys=KEYS)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}", keys=KEYS)
    upgrade(db)
    db.dispose()
    return path


def sqlite_database(template: Path, directory: Path) -> Database:
    path = directory / "lealtad.db"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}", keys=KEYS)


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated database. SQLite: a fresh file per test. PostgreSQL: one database per run,
    kept apart per test by each test's own businesses, which is the tenancy rule itself."""
    if request.param == "sqlite":
        database = sqlite_database(sqlite_template, tmp_path)
        yield database
        database.dispose()
    else:
        yield request.getfixturevalue("postgres_db")


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    database = sqlite_database(sqlite_template, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 10, 30, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", secret_key=SECRET, data_dir=tmp_path / "data", log_level="warning")


@pytest.fixture
def client(db: Database, settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(settings, db=db, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def shop(db: Database, clock: FixedClock) -> Shop:
    return make_shop(db, clock.now())


@pytest.fixture
def other_shop(db: Database, clock: FixedClock) -> Shop:
    return make_shop(db, clock.now(), name="Other shop")
