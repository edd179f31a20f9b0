"""`lealtad connectors watch` as the installed command in a subprocess, on a temporary folder,
on SQLite and PostgreSQL: each file a till drops is imported once and filed under done/ or
failed/ with its rejects or its error beside it; a file still being written is left for the next
look; the same file dropped again loads nothing twice; one watcher per folder; errors are a
message and a non-zero exit."""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from lealtad.connectors.till_file_tables import till_files
from lealtad.imports import store as import_store
from lealtad.imports.model import digest
from lealtad.kit.clock import SystemClock, naive_utc
from lealtad.purchases.tables import purchases
from tests.reliability.harness import Node, business_id, fresh_postgres

HEADER = "receipt_id,amount,occurred_at\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Node:
    url = ""
    if request.param == "postgresql":
        url = fresh_postgres(request.getfixturevalue("postgres_url"), f"drop_{os.getpid()}")
    installed = Node(tmp_path_factory.mktemp(f"drop-{request.param}"), url)
    installed.setup_business()
    return installed


def inbox(node: Node, name: str) -> Path:
    folder = node.data_dir / name
    folder.mkdir()
    return folder


def aged(path: Path, text: str) -> Path:
    """A file written a minute ago: a till's export that is long complete."""
    path.write_text(text, encoding="utf-8")
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def receipts(node: Node, prefix: str) -> list[str]:
    db = node.database()
    try:
        with db.read() as conn:
            found = conn.scalars(
                select(purchases.c.receipt_id).where(
                    purchases.c.business_id == business_id(node),
                    purchases.c.receipt_id.like(f"{prefix}-%"),
                )
            )
            return sorted(found)
    finally:
        db.dispose()


def logged(node: Node, name_like: str) -> list[tuple[str, str]]:
    db = node.database()
    try:
        with db.read() as conn:
            rows = conn.execute(
                select(till_files.c.source, till_files.c.outcome)
                .where(till_files.c.file_name.like(name_like))
                .order_by(till_files.c.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        db.dispose()


def watch_once(folder: Path) -> tuple[str, ...]:
    return ("connectors", "watch", "--business", "shop", "--folder", str(folder), "--once")


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_each_file_is_imported_once_and_filed_with_its_rejects_or_error(node: Node) -> None:
    folder = inbox(node, "caja1")
    aged(folder / "a-ventas.csv", HEADER + "F1-1,1000,2026-01-02T10:00:00Z\nF1-2,12.5,\n")
    aged(folder / "b-limpio.csv", HEADER + "F1-3,500,2026-01-02T11:00:00Z\n")
    aged(folder / "c-hoja.csv", "ticket;total\nF1-9;100\n")
    (folder / "d-escribiendo.csv.part").write_text(HEADER, encoding="utf-8")
    (folder / ".oculto.csv").write_text(HEADER, encoding="utf-8")

    run = node.cli(
        *watch_once(folder),
        "--settle",
        "0",
    )
    assert run.code == 3, str(run)
    assert "Traceback" not in run.text
    assert "b-limpio.csv: run" in run.out
    assert "1 loaded" in run.out
    assert "c-hoja.csv: cannot import" in run.err
    assert receipts(node, "F1") == ["F1-1", "F1-3"]
    assert names(folder) == [".lealtad-watch.lock", ".oculto.csv", "d-escribiendo.csv.part"]
    done, failed = names(folder / "done"), names(folder / "failed")
    assert [n.split("-", 1)[1] for n in done] == ["b-limpio.csv"]
    assert sorted(n.split("-", 1)[1] for n in failed) == [
        "a-ventas.csv",
        "a-ventas.csv.rejects.csv",
        "c-hoja.csv",
        "c-hoja.csv.error.txt",
    ]
    rejects = next((folder / "failed").glob("*a-ventas.csv.rejects.csv")).read_text()
    assert "F1-2" in rejects
    assert "amount must be a whole number" in rejects
    error = next((folder / "failed").glob("*c-hoja.csv.error.txt")).read_text()
    assert "unknown column" in error
    assert logged(node, "%-%.csv") == [
        ("folder", "with_rejects"),
        ("folder", "loaded"),
        ("folder", "refused"),
    ]

    # The same export dropped again (a till resending its day): nothing loads twice.
    again = next((folder / "done").glob("*b-limpio.csv"))
    aged(folder / "b-limpio.csv", again.read_text())
    run = node.cli(
        *watch_once(folder),
        "--settle",
        "0",
    )
    assert run.code == 0, str(run)
    assert "0 loaded" in run.out
    assert "1 already there" in run.out
    assert receipts(node, "F1") == ["F1-1", "F1-3"]
    assert len(names(folder / "done")) == 2


def test_a_file_still_being_written_is_left_for_the_next_run(node: Node) -> None:
    folder = inbox(node, "caja2")
    path = folder / "ventas.csv"
    path.write_text(HEADER, encoding="utf-8")

    stop = threading.Event()
    written: list[int] = []

    def till() -> None:
        # A slow export: a row every 0.2 s for as long as the watcher runs.
        with path.open("a", encoding="utf-8") as f:
            while not stop.is_set():
                f.write(f"F2-{len(written)},100,2026-01-02T10:00:00Z\n")
                f.flush()
                written.append(1)
                time.sleep(0.2)

    writer = threading.Thread(target=till)
    writer.start()
    try:
        run = node.cli(*watch_once(folder), "--settle", "1")
    finally:
        stop.set()
        writer.join()
    assert run.code == 0, str(run)
    assert "still being written" in run.out
    assert receipts(node, "F2") == []
    assert path.exists()
    time.sleep(1.1)
    run = node.cli(
        *watch_once(folder),
        "--settle",
        "1",
    )
    assert run.code == 0, str(run)
    assert len(receipts(node, "F2")) == len(written)
    assert not path.exists()


def test_without_once_it_polls_takes_renamed_files_and_stops_on_sigterm(node: Node) -> None:
    folder = inbox(node, "caja3")
    log = node.data_dir / "watch.log"
    proc = node.spawn(
        "connectors",
        "watch",
        "--business",
        "shop",
        "--folder",
        str(folder),
        "--every",
        "0.3",
        "--settle",
        "0.3",
        log=log,
    )
    try:
        # The rename convention: written under .part, renamed when complete.
        part = folder / "ventas.csv.part"
        part.write_text(HEADER + "F3-1,700,2026-01-02T10:00:00Z\n", encoding="utf-8")
        time.sleep(1.0)
        assert receipts(node, "F3") == []
        part.rename(folder / "ventas.csv")
        deadline = time.monotonic() + 60
        while not (folder / "done").exists() or not names(folder / "done"):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert receipts(node, "F3") == ["F3-1"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
        assert "Stopped" in log.read_text()
    finally:
        node.stop_all()


def test_errors_are_a_message_and_a_non_zero_exit(node: Node) -> None:
    folder = inbox(node, "caja4")
    aged(folder / "ventas.csv", HEADER + "F4-1,100,2026-01-02T10:00:00Z\n")
    base = ("connectors", "watch", "--folder", str(folder), "--once", "--settle", "0")
    for args, said in (
        (("--business", "nope"), "No business"),
        (("--business", "shop", "--location", "999999"), "no location"),
    ):
        run = node.cli(*base, *args)
        assert run.code == 2, str(run)
        assert said in run.err
        assert "Traceback" not in run.text
    run = node.cli(
        "connectors", "watch", "--business", "shop", "--folder", str(folder / "x"), "--once"
    )
    assert run.code == 2, str(run)
    assert "No such folder" in run.err
    # A second watcher on the folder (cron starting while the last run still imports).
    with (folder / ".lealtad-watch.lock").open("ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = node.cli(*base, "--business", "shop")
    assert run.code == 0, str(run)
    assert "Another watcher" in run.err
    assert receipts(node, "F4") == []
    assert names(folder) == [".lealtad-watch.lock", "ventas.csv"]


def test_a_run_a_crash_stopped_is_resumed_not_refused(node: Node) -> None:
    """The watcher killed half-way leaves the file in the folder and its run unfinished; the
    next run (a minute later, from cron) resumes that run instead of refusing the file."""
    folder = inbox(node, "caja5")
    path = aged(folder / "ventas.csv", HEADER + "F5-1,100,2026-01-02T10:00:00Z\n")
    sha256, _lines = digest(path)
    db = node.database()
    try:
        with db.transaction() as conn:
            run_id = import_store.start_run(
                conn,
                business_id(node),
                "purchases",
                str(path),
                sha256,
                naive_utc(SystemClock().now()),
            )
    finally:
        db.dispose()
    run = node.cli(*watch_once(folder), "--settle", "0")
    assert run.code == 0, str(run)
    assert f"ventas.csv: run {run_id}:" in run.out
    assert receipts(node, "F5") == ["F5-1"]
