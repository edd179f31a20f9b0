"""Engine and unit of work. A request or job opens one transaction with `db.transaction()` and it
commits when the block ends, or rolls back on an exception; services never commit."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from lealtad.kit import process_cache

if TYPE_CHECKING:
    from lealtad.security.crypto import FieldKeys

READ_ONLY = "lealtad_read_only"


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's begin event below (pysqlite's own is broken).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads and then
        # writes can fail with SQLITE_BUSY when another writer got there first, whatever the timeout.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class _WriterQueue:
    """One SQLite writer at a time, queued here instead of inside SQLite.

    SQLite lets one transaction write; the others wait in its busy handler, which polls with
    sleeps growing to 100 ms. Under load that wastes most of the time and gives p99 latencies in
    seconds. Writers of this process queue on a lock, and the processes sharing the file queue on
    an flock, which the kernel hands over at once. A program that does not take it (sqlite3 by
    hand, an older server) still meets the busy timeout as before, so this is only a queue, never
    what keeps the data consistent."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writers.lock"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                self._fd, self._pid, self._depth = self._open(), os.getpid(), 0
            fd = self._fd
            if self._depth == 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)


# One queue per file and process: two Database objects on one file (the app and a CLI command in
# the same test process) share it, so a thread already writing is never stuck behind itself.
_QUEUES: dict[str, _WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def _writer_queue(database: str) -> _WriterQueue:
    key = os.path.abspath(database)
    with _QUEUES_LOCK:
        return _QUEUES.setdefault(key, _WriterQueue(key))


class Database:
    def __init__(self, url: str, keys: FieldKeys | None = None, **engine_options: Any) -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite" and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if self.dialect == "postgresql":
            engine_options.setdefault("pool_size", 10)
            engine_options.setdefault("max_overflow", 20)
            engine_options.setdefault("pool_pre_ping", True)
        self.url = url
        self.engine = create_engine(url, **engine_options)
        self._writers: _WriterQueue | None = None
        if self.dialect == "sqlite":
            _prepare_sqlite(self.engine)
            if parsed.database and parsed.database != ":memory:":
                self._writers = _writer_queue(parsed.database)
        self.keys: FieldKeys | None = None
        self._on_dispose: list[Callable[[], None]] = []
        if keys is not None:
            self.use_keys(keys)

    def use_keys(self, keys: FieldKeys) -> None:
        """The personal-data keys live on this engine's dialect, where the encrypted column
        types find them (lealtad.security.fields)."""
        from lealtad.security.fields import attach

        self.keys = keys
        attach(self.engine.dialect, keys)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if self._writers is None:
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn
                process_cache.committed(conn)  # reached only once the COMMIT returned
            return
        with self._writers.held(), self.engine.connect() as conn:
            with conn.begin():
                yield conn
            process_cache.committed(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    def on_dispose(self, stop: Callable[[], None]) -> None:
        """Something of this process that must end with the engine (the group-commit writer
        thread, db/group_commit.py); called once, at the next dispose."""
        self._on_dispose.append(stop)

    def dispose(self) -> None:
        hooks, self._on_dispose = self._on_dispose, []
        for stop in hooks:
            stop()
        self.engine.dispose()
