"""The API keys this process has checked, and the one cheap question asked on every later use.

A POS sends its key with every sale. Checking it in full (a read transaction, the key's row by
its prefix, a SHA-256 of the secret, a constant-time comparison) costs more than the rest of the
HTTP edge together, so a key that passed is remembered with its principal. A remembered key is
not trusted by age: every use asks the database whether its row is still in force (D61), so a
key revoked anywhere (another worker, another machine, the CLI, a hand-written UPDATE) is
refused by the very next request in every process. On SQLite the question goes straight to the
driver on a connection of this process, from the event loop: a primary-key read in WAL mode
never waits for a writer and costs a few microseconds. Elsewhere it is one statement on a pooled
connection, from a thread, instead of the full check.

Only keys that passed the full check are remembered; an unknown or revoked key never is.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from typing import Any

from sqlalchemy.engine import make_url

from lealtad.db.engine import Database
from lealtad.tenancy import store
from lealtad.tenancy.key_asker import Askers
from lealtad.tenancy.model import Principal

_LIMIT = 10_000


class _Remembered:
    """One database's remembered keys, and (SQLite) this process's connection for the question."""

    def __init__(self, db: Database) -> None:
        self.principals: dict[str, Principal] = {}
        url = make_url(db.url)
        self.path = url.database if db.dialect == "sqlite" else None
        if self.path in (None, "", ":memory:"):
            self.path = None
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self.askers = Askers(db.url) if db.dialect == "postgresql" else None

    def in_force_here(self, key_id: int) -> bool | None:
        """Asked on the driver directly (SQLite files); None when it cannot be asked here."""
        if self.path is None:
            return None
        opened = False
        try:
            with self._lock:
                if self._conn is None or self._pid != os.getpid():  # a forked child opens its own
                    self._conn = self._open(self.path)
                    self._pid = os.getpid()
                    opened = True
                row = self._conn.execute(store.KEY_IN_FORCE_SQL, (key_id,)).fetchone()
        except sqlite3.Error:
            # Locked for a moment, or the file moved: the pooled connection answers instead.
            self.close()
            return None
        if opened:
            _keep_few_open(self)
        return row is not None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    @staticmethod
    def _open(path: str) -> sqlite3.Connection:
        # Autocommit: each question is its own read and sees every commit made before it.
        conn = sqlite3.connect(path, timeout=0.05, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only=1")
        return conn


# A process serves one database, but tests and tools make many: only the few last used keep a
# driver connection (and its three file handles) open; the others reopen when asked again.
_OPEN_LIMIT = 4
_open: list[_Remembered] = []
_open_lock = threading.Lock()


def _keep_few_open(entry: _Remembered) -> None:
    with _open_lock:
        if entry in _open:
            _open.remove(entry)
        _open.append(entry)
        evicted = _open[:-_OPEN_LIMIT]
        del _open[:-_OPEN_LIMIT]
    for old in evicted:  # outside the list's lock: close() takes the entry's own
        old.close()


# Per Database object: the entries go with it (tests make thousands of databases).
_by_database: weakref.WeakKeyDictionary[Database, _Remembered] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def _remembered(db: Database) -> _Remembered:
    found = _by_database.get(db)
    if found is None:
        with _registry_lock:
            found = _by_database.get(db)
            if found is None:
                found = _by_database[db] = _Remembered(db)
    return found


def remembered(db: Database, presented: str) -> Principal | None:
    """The principal of a key that passed the full check in this process, not yet confirmed."""
    return _remembered(db).principals.get(presented)


def confirmed_here(db: Database, principal: Principal) -> bool | None:
    """Whether the remembered key's row is still in force, when that can be asked without a
    thread (SQLite); None otherwise: ask `confirmed` from a thread."""
    assert principal.api_key_id is not None
    return _remembered(db).in_force_here(principal.api_key_id)


async def confirmed_on_the_loop(db: Database, principal: Principal) -> bool | None:
    """Whether the remembered key's row is still in force, asked without a thread on
    PostgreSQL (tenancy/key_asker.py); None when it cannot be: ask `confirmed` from a thread."""
    assert principal.api_key_id is not None
    askers = _remembered(db).askers
    if askers is None:
        return None
    try:
        return await askers.for_this_loop().in_force(principal.api_key_id)
    except Exception:  # the server was restarting, say: the pooled way answers
        return None


def confirmed(db: Database, principal: Principal) -> bool:
    """Whether the remembered key's row is still in force (blocking: call it from a thread)."""
    assert principal.api_key_id is not None
    answer = _remembered(db).in_force_here(principal.api_key_id)
    if answer is not None:
        return answer
    with db.read() as conn:
        return store.api_key_in_force(conn, principal.api_key_id)


def remember(db: Database, presented: str, principal: Principal) -> None:
    entries = _remembered(db).principals
    if len(entries) >= _LIMIT:
        entries.clear()
    entries[presented] = principal


def forget(db: Database, presented: str) -> None:
    _remembered(db).principals.pop(presented, None)


def forget_all() -> None:
    for entry in list(_by_database.values()):
        entry.principals.clear()


def describe(db: Database) -> dict[str, Any]:
    """For tests and benchmarks: how many keys are remembered and how they are confirmed."""
    entry = _remembered(db)
    return {
        "keys": len(entry.principals),
        "driver": entry.path is not None,
        "on_the_loop": entry.askers is not None,
    }
