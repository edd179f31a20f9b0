"""`lealtad backup` and `lealtad restore` (issue 8.7): a round trip on SQLite and PostgreSQL
gives back exactly the backed-up state; a backup taken while purchases are written restores to
a ledger that verifies; bad arguments stop with a message and a non-zero exit."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest

from lealtad import backup
from tests.reliability.harness import Node, enrol, fresh_postgres, state

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Node:
    url = ""
    if request.param == "postgresql":
        name = f"backup_{os.getpid()}_{next(_databases)}"
        url = fresh_postgres(request.getfixturevalue("postgres_url"), name)
    return Node(tmp_path / "node", url)


@pytest.fixture
def shop(node: Node) -> tuple[Node, str]:
    return node, node.setup_business()


def buy(node: Node, key: str, receipts: range, member_ids: list[int] | None = None) -> None:
    with node.app() as app:
        ids = member_ids or [m["id"] for m in app.get("/api/v1/members", headers=auth(key)).json()]
        for n in receipts:
            body = {"receipt_id": f"B-{n}", "amount": 100 * n, "currency": "EUR"}
            body["member_id"] = ids[n % len(ids)]
            answer = app.post("/api/v1/purchases", json=body, headers=auth(key))
            assert answer.status_code == 201, answer.text


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_restored_backup_holds_exactly_what_was_backed_up(
    shop: tuple[Node, str], tmp_path: Path
) -> None:
    node, key = shop
    with node.app() as app:
        ids = enrol(app, key, members=3)
    buy(node, key, range(1, 20), ids)
    saved = state(node)
    file = tmp_path / "lealtad.backup"

    made = node.run("backup", str(file))

    assert made.code == 0, str(made)
    assert file.stat().st_size > 0
    if not node.database_url:  # (a pg_dump -Fc file is compressed: nothing to read in it)
        assert b"m0@crash.example" not in file.read_bytes(), "personal data stays encrypted"
    assert not file.with_name(file.name + ".partial").exists()
    buy(node, key, range(20, 30), ids)
    with node.app() as app:
        enrol(app, key, members=1, first=9)
    assert state(node) != saved
    refused = node.run("restore", str(file))
    assert refused.code == 2, str(refused)
    assert "--force" in refused.err
    assert state(node) != saved, "nothing was restored without --force"

    restored = node.run("restore", str(file), "--force")

    assert restored.code == 0, str(restored)
    assert "ledger verified" in restored.out
    assert state(node) == saved
    assert node.run("ledger", "verify").code == 0
    # The restored installation keeps working: its key answers and new sales are recorded.
    buy(node, key, range(40, 42), ids)


def test_a_backup_restores_into_an_empty_installation_without_force(
    shop: tuple[Node, str], tmp_path: Path
) -> None:
    node, key = shop
    with node.app() as app:
        ids = enrol(app, key, members=2)
    buy(node, key, range(1, 6), ids)
    file = tmp_path / "copy.backup"
    assert node.run("backup", str(file)).code == 0
    empty = Node(tmp_path / "empty", "")
    if node.database_url:
        empty.database_url = fresh_postgres(
            node.database_url, f"backup_empty_{os.getpid()}_{next(_databases)}"
        )

    restored = empty.run("restore", str(file))

    assert restored.code == 0, str(restored)
    assert state(empty) == state(node)


def test_a_sqlite_backup_taken_while_purchases_are_written_restores_to_a_verified_ledger(
    tmp_path: Path,
) -> None:
    node = Node(tmp_path / "live")
    key = node.setup_business()
    with node.app() as app:
        ids = enrol(app, key, members=2)
    writing = threading.Thread(target=buy, args=(node, key, range(1, 80), ids))
    writing.start()
    copies = []
    try:
        for n in range(3):
            copy = tmp_path / f"hot-{n}.backup"
            backup.backup(node.url, copy)
            copies.append(copy)
    finally:
        writing.join()
    for n, copy in enumerate(copies):
        target = Node(tmp_path / f"restored-{n}")
        assert target.run("restore", str(copy)).code == 0
        assert state(target)["members"] == 2


def test_backup_refuses_to_overwrite_a_file_without_force(
    shop: tuple[Node, str], tmp_path: Path
) -> None:
    node, _ = shop
    file = tmp_path / "taken"
    file.write_text("keep me")

    refused = node.run("backup", str(file))

    assert refused.code == 2
    assert "--force" in refused.err
    assert file.read_text() == "keep me"
    assert node.run("backup", str(file), "--force").code == 0
    assert file.read_bytes() != b"keep me"


def test_restore_of_a_file_that_is_not_a_backup_fails_with_a_message_and_changes_nothing(
    shop: tuple[Node, str], tmp_path: Path
) -> None:
    node, _ = shop
    before = state(node)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup at all")

    failed = node.run("restore", str(junk), "--force")

    assert failed.code == 1, str(failed)
    assert "not a" in failed.err
    assert node.run("restore", str(tmp_path / "missing.backup"), "--force").code == 2
    assert state(node) == before


def test_without_pg_dump_a_postgresql_backup_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backup.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(backup.BackupError, match=r"pg_dump not found.*postgresql-client"):
        backup.backup("postgresql+psycopg://u:secret@127.0.0.1:1/none", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    node = Node(tmp_path / "n", "postgresql+psycopg://u:secret@127.0.0.1:1/none")
    failed = node.run("backup", str(tmp_path / "y"))
    assert failed.code == 1
    assert "pg_dump not found" in failed.err
