"""The keys of personal data (D28): authenticated encryption, clear errors for a wrong or missing
key, `lealtad keys new` / `rotate` (after which the old key can go), and migration 0012, which
encrypts the rows a database already holds."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from typer.testing import CliRunner

from lealtad.cli import app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.security.crypto import FieldKeyError, FieldKeys, new_key, parse_keys
from lealtad.security.fields import keys_for_settings
from tests.conftest import SECRET
from tests.support import PROD_FIELD_KEYS, make_shop

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
K1, K2 = new_key(), new_key()
runner = CliRunner()


def keys(*entries: str) -> FieldKeys:
    return FieldKeys(tuple(parse_keys(",".join(entries))), b"i" * 32)


def test_a_value_opens_only_with_its_key_and_in_its_own_column() -> None:
    ring = keys(K1)
    sealed = ring.encrypt("ana@example.org", "members.email")
    assert sealed.startswith(f"e1:{K1.split(':')[0]}:")
    assert ring.encrypt("ana@example.org", "members.email") != sealed  # a fresh nonce each time
    assert ring.decrypt(sealed, "members.email") == "ana@example.org"
    with pytest.raises(FieldKeyError, match="altered"):
        ring.decrypt(sealed, "members.phone")  # copied into another column
    wrong = FieldKeys(((K1.split(":")[0], b"w" * 32),), b"i" * 32)
    with pytest.raises(FieldKeyError, match="key is wrong"):
        wrong.decrypt(sealed, "members.email")
    with pytest.raises(FieldKeyError, match="not configured"):
        keys(K2).decrypt(sealed, "members.email")
    with pytest.raises(FieldKeyError, match="not encrypted"):
        ring.decrypt("ana@example.org", "members.email")


def test_malformed_keys_and_a_production_without_keys_are_refused(tmp_path: Path) -> None:
    for bad in ("nokid", "k1:short", "k 1:" + K1.split(":")[1], f"{K1},{K1}"):
        with pytest.raises(FieldKeyError):
            parse_keys(bad)
    base = {"env": "prod", "secret_key": "p" * 40, "database_url": "sqlite://"}
    with pytest.raises(ValidationError, match="FIELD_KEYS"):
        Settings(**base, data_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="FIELD_KEYS"):
        Settings(**base, field_keys=K1, data_dir=tmp_path)  # type: ignore[arg-type]
    prod = Settings(**base, **PROD_FIELD_KEYS, data_dir=tmp_path)  # type: ignore[arg-type]
    assert [kid for kid, _ in keys_for_settings(prod).keys] == ["kprod"]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own: rotation rewrites every row, which a shared one would
    not survive."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    server = request.getfixturevalue("postgres_server")
    if server is None:
        pytest.skip("needs the test run's own PostgreSQL server")
    return str(server.create_database(f"lealtad_pii_{secrets.token_hex(4)}"))


@pytest.fixture
def cli(fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in [n for n in os.environ if n.startswith("LEALTAD_")]:
        monkeypatch.delenv(name)
    base = {
        "LEALTAD_ENV": "test",
        "LEALTAD_SECRET_KEY": SECRET,
        "LEALTAD_DATABASE_URL": fresh_url,
        "LEALTAD_DATA_DIR": str(tmp_path / "data"),
    }

    def run(*args: str, **env: str) -> Any:
        return runner.invoke(app, list(args), env=base | env)

    return run


def settings_with(url: str, tmp_path: Path, field_keys: str) -> Settings:
    return Settings(
        env="test",
        secret_key=SECRET,
        database_url=url,
        field_keys=field_keys,
        data_dir=tmp_path / "data",
    )


def key_ids(db: Database) -> set[str]:
    with db.read() as conn:
        rows = conn.execute(text("SELECT name, email, phone, birthday FROM members")).all()
    return {value.split(":")[1] for row in rows for value in row if value}


def test_after_rotating_onto_a_new_key_the_old_one_can_be_removed(
    cli: Any, fresh_url: str, tmp_path: Path
) -> None:
    assert cli("migrate", LEALTAD_FIELD_KEYS=K1).exit_code == 0
    first = Database(fresh_url, keys=keys_for_settings(settings_with(fresh_url, tmp_path, K1)))
    shop = make_shop(first, NOW, members_count=3)
    with first.transaction() as conn:
        members.update(conn, shop.id, shop.members[0], _patch(), NOW, may_change_contact=True)
    assert key_ids(first) == {K1.split(":")[0]}
    first.dispose()

    made = cli("keys", "new")
    assert made.exit_code == 0
    fresh_key = made.stdout.strip()
    parse_keys(fresh_key)
    rotated = cli("keys", "rotate", "--batch", "2", LEALTAD_FIELD_KEYS=f"{fresh_key},{K1}")
    assert rotated.exit_code == 0, rotated.stdout
    assert "under key" in rotated.stdout

    only_new = Database(
        fresh_url, keys=keys_for_settings(settings_with(fresh_url, tmp_path, fresh_key))
    )
    assert key_ids(only_new) == {fresh_key.split(":")[0]}
    with only_new.read() as conn:
        ana = members.find(conn, shop.id, SECRET, email="ana@rotate.example")
        assert (ana.name, ana.birthday) == ("Ana Rota", date(1991, 7, 4))
        for member_id in shop.members:
            assert members.get(conn, shop.id, member_id).email.endswith(".example")
    only_new.dispose()
    assert cli("ledger", "verify", LEALTAD_FIELD_KEYS=fresh_key).exit_code == 0
    # With the old key alone, the data no longer opens, and says why.
    old_only = Database(fresh_url, keys=keys(K1))
    with pytest.raises(FieldKeyError, match="not configured"), old_only.read() as conn:
        members.get(conn, shop.id, shop.members[0])
    old_only.dispose()


def _patch() -> Any:
    from lealtad.members.schemas import MemberPatch

    return MemberPatch(name="Ana Rota", email="ana@rotate.example", birthday=date(1991, 7, 4))


def test_a_wrong_key_is_a_clear_error_not_garbage(db, shop, settings, clock) -> None:
    from fastapi.testclient import TestClient

    from lealtad.api import create_app

    wrong = Database(db.url, keys=FieldKeys.derived("another secret entirely, long enough"))
    try:
        with pytest.raises(FieldKeyError, match="key is wrong"), wrong.read() as conn:
            members.get(conn, shop.id, shop.members[0])
        with TestClient(create_app(settings, db=wrong, clock=clock)) as client:
            answer = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth())
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "field_key_error"
    finally:
        wrong.dispose()
    keyless = Database(db.url)
    try:
        with pytest.raises(FieldKeyError, match="no field keys"), keyless.read() as conn:
            members.get(conn, shop.id, shop.members[0])
    finally:
        keyless.dispose()


def test_migration_0012_encrypts_the_rows_already_there(fresh_url: str, tmp_path: Path) -> None:
    ring = keys_for_settings(settings_with(fresh_url, tmp_path, K1))
    db = Database(fresh_url, keys=ring)
    upgrade(db, "0011")
    with db.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO businesses (id, slug, name, currency, timezone, locale, created_at,"
                " two_step_required) VALUES (1, 'old', 'Old', 'EUR', 'Europe/Madrid', 'es',"
                " :now, false)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO members (id, business_id, card_number, card_version, name, email,"
                " phone, birthday, locale, tags, consent, enrolment_channel, enrolled_at, status)"
                " VALUES (1, 1, '1234567897', 1, 'Vieja Ana', 'vieja@old.example', '+34699000111',"
                " '1980-02-03', 'es', '[]', '{}', 'api', :now, 'active')"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        answer = json.dumps({"email": "vieja@old.example"})
        conn.execute(
            text(
                "INSERT INTO idempotency_keys (business_id, key, request_hash, status_code,"
                " response, created_at) VALUES (1, 'k', 'h', 201, :answer, :now)"
            ),
            {"answer": answer, "now": NOW.replace(tzinfo=None)},
        )
    upgrade(db)
    with db.read() as conn:
        raw = conn.execute(text("SELECT name, email, phone, birthday FROM members")).one()
        stored = conn.execute(text("SELECT response FROM idempotency_keys")).scalar_one()
        member = members.find(conn, 1, SECRET, phone="0034 699 000 111")
    assert all(value.startswith(f"e1:{K1.split(':')[0]}:") for value in raw)
    assert "vieja" not in stored
    assert (member.name, member.email, member.birthday) == (
        "Vieja Ana",
        "vieja@old.example",
        date(1980, 2, 3),
    )
    db.dispose()


def test_a_profile_written_through_the_service_keeps_its_indexes_in_step(db, shop) -> None:
    with db.transaction() as conn:
        member_id = members.enrol(
            conn, shop.id, MemberIn(name="Pablo", email="p@x.example"), channel="api", now=NOW
        )
        members.update(conn, shop.id, member_id, _patch(), NOW, may_change_contact=True)
        assert members.find(conn, shop.id, SECRET, email="ana@rotate.example").id == member_id
        with pytest.raises(Exception, match="no member"):
            members.find(conn, shop.id, SECRET, email="p@x.example")
