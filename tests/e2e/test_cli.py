"""The `lealtad` command, run as the installed console script in a subprocess on SQLite."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings

API_KEY = re.compile(r"\blk_[0-9a-f]{10}_[A-Za-z0-9_-]{20,}\b")


def lealtad_command() -> list[str]:
    """The console script installed next to this interpreter, else the module's __main__."""
    script = Path(sys.executable).with_name("lealtad")
    if script.exists():
        return [str(script)]
    found = shutil.which("lealtad")
    return [found] if found else [sys.executable, "-m", "lealtad.cli"]


def cli_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment without any LEALTAD_* setting, so the default SQLite file in
    data_dir is used; no colours or wrapping, so the output is plain text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEALTAD_")}
    env.update(LEALTAD_DATA_DIR=str(data_dir), NO_COLOR="1", TERM="dumb", COLUMNS="200")
    return env


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def lealtad(data_dir: Path, *args: str, timeout: float = 120, cwd: Path | None = None) -> Run:
    done = subprocess.run(
        [*lealtad_command(), *args],
        env=cli_env(data_dir),
        cwd=cwd or data_dir,  # away from any .env in the checkout
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def app_on(data_dir: Path) -> TestClient:
    """The application in this process, on the SQLite file the command wrote, with the secret
    key the command kept beside it: the members' personal data opens only with its keys (D28)."""
    settings = Settings(env="test", data_dir=data_dir, database_url="")
    return TestClient(create_app(settings))


def rows(data_dir: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "lealtad.db") as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    run = lealtad(tmp_path, "migrate")
    assert run.code == 0, run
    return tmp_path


@pytest.fixture
def bar_uno(migrated: Path) -> Path:
    run = lealtad(
        migrated,
        "business",
        "create",
        "Bar Uno",
        "--owner-email",
        "o@x.example",
        "--owner-password",
        "longenoughpw",
    )
    assert run.code == 0, run
    assert "slug=bar-uno" in run.out, run
    return migrated


def test_migrate_creates_the_data_directory_and_its_sqlite_database_at_the_latest_schema(
    tmp_path: Path,
) -> None:
    from lealtad.db.migrate import head_revision

    data_dir = tmp_path / "fresh" / "install"  # as on a new machine: not there yet
    run = lealtad(data_dir, "migrate", cwd=tmp_path)
    assert run.code == 0, run
    assert (data_dir / "lealtad.db").is_file()
    assert str(data_dir / "lealtad.db") in run.out
    assert rows(data_dir, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    again = lealtad(data_dir, "migrate")
    assert again.code == 0, again
    assert rows(data_dir, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_business_create_prints_the_slug_and_its_owner_can_log_in(bar_uno: Path) -> None:
    with app_on(bar_uno) as client:
        resp = client.post(
            "/api/v1/auth/staff-token",
            json={"business": "bar-uno", "email": "o@x.example", "password": "longenoughpw"},
        )
    assert resp.status_code == 200, resp.text
    assert resp.json()["staff"]["role"] == "owner"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--currency", "XYZ", "--owner-password", "longenoughpw"], "unknown currency 'XYZ'"),
        (["--owner-password", "short"], "at least 10 characters"),
        (["--owner-password", "longenoughpw", "--timezone", "Mars/Base"], "Mars/Base"),
    ],
    ids=["unknown-currency", "short-password", "unknown-timezone"],
)
def test_business_create_with_bad_input_exits_non_zero_with_a_message_and_creates_nothing(
    migrated: Path, options: list[str], message: str
) -> None:
    run = lealtad(
        migrated, "business", "create", "Bar Dos", "--owner-email", "o@x.example", *options
    )
    assert run.code != 0, run
    assert message in run.text, run
    assert "Traceback" not in run.text, run
    assert rows(migrated, "SELECT count(*) FROM businesses") == [(0,)]
    assert rows(migrated, "SELECT count(*) FROM staff_users") == [(0,)]


def test_apikey_create_prints_a_manager_key_that_the_api_accepts_for_that_business(
    bar_uno: Path,
) -> None:
    run = lealtad(bar_uno, "apikey", "create", "--business", "bar-uno", "--role", "manager")
    assert run.code == 0, run
    keys = API_KEY.findall(run.out)
    assert len(keys) == 1, run
    key = keys[0]
    assert run.out.strip() == key, "the key is alone on stdout, so a script can capture it"
    assert "not shown again" in run.err

    headers = {"Authorization": f"Bearer {key}"}
    with app_on(bar_uno) as client:
        business = client.get("/api/v1/business", headers=headers)
        staff = client.get("/api/v1/staff", headers=headers)  # manager and up
        api_keys = client.get("/api/v1/api-keys", headers=headers)  # owner only
        forged = client.get("/api/v1/business", headers={"Authorization": f"Bearer {key}x"})
    assert business.status_code == 200, business.text
    assert business.json()["slug"] == "bar-uno"
    assert staff.status_code == 200, staff.text
    assert api_keys.status_code == 403, api_keys.text
    assert forged.status_code == 401, forged.text


def test_apikey_create_for_an_unknown_business_exits_non_zero_and_names_it(
    bar_uno: Path,
) -> None:
    run = lealtad(bar_uno, "apikey", "create", "--business", "no-such-bar")
    assert run.code != 0, run
    assert "no-such-bar" in run.err, run
    assert not API_KEY.search(run.text), run
    assert rows(bar_uno, "SELECT count(*) FROM api_keys") == [(0,)]


@dataclass
class Demo:
    data_dir: Path
    run: Run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One seeded demo for the module (seeding takes seconds); tests that change it use a copy."""
    data_dir = tmp_path_factory.mktemp("demo")
    return Demo(data_dir, lealtad(data_dir, "demo", "--no-serve"))


def copy_of(demo: Demo, tmp_path: Path) -> Path:
    shutil.copy(demo.data_dir / "lealtad.db", tmp_path / "lealtad.db")
    shutil.copy(demo.data_dir / "secret.key", tmp_path / "secret.key")
    return tmp_path


def test_demo_without_serving_exits_0_and_prints_a_working_api_key_and_staff_logins(
    demo: Demo,
) -> None:
    run = demo.run
    assert run.code == 0, run
    key_lines = [line for line in run.out.splitlines() if "API key:" in line]
    assert len(key_lines) == 1, run
    key = API_KEY.search(key_lines[0])
    assert key, run
    logins = re.findall(r"^\s+(owner|manager|staff)\s+(\S+@\S+)\s+(\S+)\s*$", run.out, re.M)
    assert {role for role, _, _ in logins} == {"owner", "manager", "staff"}, run
    member_id = re.search(r"/api/v1/members/(\d+)/balance", run.out)
    assert member_id, run

    _, email, password = logins[0]
    headers = {"Authorization": f"Bearer {key.group(0)}"}
    with app_on(demo.data_dir) as client:
        balance = client.get(f"/api/v1/members/{member_id.group(1)}/balance", headers=headers)
        members = client.get("/api/v1/members", params={"limit": 200}, headers=headers)
        login = client.post(
            "/api/v1/auth/staff-token",
            json={"business": "demo-cafe", "email": email, "password": password},
        )
    assert balance.status_code == 200, balance.text
    assert isinstance(balance.json()["points"], int)
    assert members.status_code == 200, members.text
    assert len(members.json()) == 50
    assert login.status_code == 200, login.text


def test_demo_run_again_keeps_the_data_and_prints_a_new_working_key(
    demo: Demo, tmp_path: Path
) -> None:
    data_dir = copy_of(demo, tmp_path)
    run = lealtad(data_dir, "demo", "--no-serve")
    assert run.code == 0, run
    assert "already there" in run.out, run
    key = API_KEY.search(run.out.split("API key:", 1)[1])
    assert key, run
    first_key = API_KEY.search(demo.run.out)
    assert first_key
    assert key.group(0) != first_key.group(0)
    with app_on(data_dir) as client:
        members = client.get(
            "/api/v1/members",
            params={"limit": 200},
            headers={"Authorization": f"Bearer {key.group(0)}"},
        )
    assert members.status_code == 200, members.text
    assert len(members.json()) == 50


def test_ledger_verify_passes_on_the_demo_data(demo: Demo) -> None:
    assert demo.run.code == 0, demo.run
    run = lealtad(demo.data_dir, "ledger", "verify")
    assert run.code == 0, run
    assert "Ledger verified" in run.out, run
    scoped = lealtad(demo.data_dir, "ledger", "verify", "--business", "demo-cafe")
    assert scoped.code == 0, scoped


def test_ledger_verify_fails_and_names_the_account_whose_balance_was_altered_in_sql(
    demo: Demo, tmp_path: Path
) -> None:
    assert demo.run.code == 0, demo.run
    data_dir = copy_of(demo, tmp_path)
    with sqlite3.connect(data_dir / "lealtad.db") as conn:
        (account_id, key), *_ = conn.execute(
            "SELECT id, key FROM ledger_accounts WHERE id = "
            "(SELECT min(id) FROM ledger_accounts WHERE member_id IS NOT NULL)"
        ).fetchall()
        conn.execute("UPDATE ledger_accounts SET balance = balance + 7 WHERE id = ?", (account_id,))

    run = lealtad(data_dir, "ledger", "verify")
    assert run.code != 0, run
    assert f"account {key}:" in run.text, run
    assert "MISMATCH" in run.text, run
    scoped = lealtad(data_dir, "ledger", "verify", "--business", "demo-cafe")
    assert scoped.code != 0, scoped
    assert key in scoped.text, scoped


def test_ledger_verify_for_an_unknown_business_exits_non_zero_and_names_it(
    migrated: Path,
) -> None:
    run = lealtad(migrated, "ledger", "verify", "--business", "no-such-bar")
    assert run.code != 0, run
    assert "no-such-bar" in run.err, run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchcommand"], "nosuchcommand"),
        (["serve", "--port", "0"], "--port"),
        (["serve", "--port", "65536"], "--port"),
        (["business", "create", "Bar Uno"], "--owner-email"),
        (["apikey", "create", "--business", "bar-uno", "--role", "king"], "king"),
        (["ledger", "nosuchcheck"], "nosuchcheck"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_arguments_exit_non_zero_with_a_usage_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    run = lealtad(tmp_path, *args, timeout=60)
    assert run.code != 0, run
    assert message in run.text, run
    assert "Traceback" not in run.text, run


def test_without_a_command_the_help_lists_the_commands_and_nothing_runs(tmp_path: Path) -> None:
    run = lealtad(tmp_path, timeout=60)
    for command in ("demo", "serve", "migrate", "ledger", "business", "apikey"):
        assert command in run.text, run
    assert not (tmp_path / "lealtad.db").exists()


def test_commands_on_a_database_that_was_never_migrated_say_to_run_migrate(tmp_path: Path) -> None:
    run = lealtad(tmp_path, "ledger", "verify")
    assert run.code == 2, str(run)
    assert "lealtad migrate" in run.text
    assert "Traceback" not in run.text
