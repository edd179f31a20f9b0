"""Per-process caches of what the purchase path reads on every sale and what rarely changes.

Two kinds, both invalidated by versions, never by time (D64):

- Configuration of a business (its row, its locations, its program versions, its active
  challenges), kept per (database, business, config version). `businesses.config_version` is
  stamped anew by triggers in the same transaction as any change to those rows, so a reader that
  reads stamp N and then the rows reads the rows of N. A caller reads the stamp once and *pins* it
  on its connection (`pin`) for a unit of work that writes none of those rows (a purchase); the
  lookups below it ask `pinned` and fall back to plain SQL when nothing is pinned.
- Ledger account ids by (database, business, key): an account's id never changes once its row is
  committed, so an id learned in a transaction is kept aside on that connection and joins the
  shared cache only when the transaction commits; a rollback (of the transaction, or of the
  savepoint it was learned in) drops it.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event

T = TypeVar("T")

# Businesses whose configuration a process keeps; a business's entry is a few rows.
CONFIG_ENTRIES = 2048
# Account ids: two or three per member who bought lately, and the business's own accounts.
ACCOUNT_IDS = 200_000

_PIN = "lealtad.config_pin"
_PENDING = "lealtad.pending_account_ids"
_UNSEEN = "lealtad.transaction_unseen"
# Ids of a transaction whose COMMIT has been sent but not yet returned: shared by `committed`.
_COMMITTING = "lealtad.committing_account_ids"


class ConfigEntry:
    """One business's configuration at one config version, filled lazily, one part at a time."""

    __slots__ = ("parts", "version")

    def __init__(self, version: int) -> None:
        self.version = version
        self.parts: dict[str, Any] = {}


class Pin:
    """The config version a unit of work read, and how to read it again (see `part`)."""

    __slots__ = ("business_id", "entry", "reread")

    def __init__(
        self, business_id: int, entry: ConfigEntry, reread: Callable[[], int | None]
    ) -> None:
        self.business_id = business_id
        self.entry = entry
        self.reread = reread


_lock = threading.Lock()
_configs: OrderedDict[tuple[str, int, int], ConfigEntry] = OrderedDict()
_account_ids: OrderedDict[tuple[str, int, str], int] = OrderedDict()


def _after_fork() -> None:
    # A thread of the parent may have held the lock at fork time; the contents stay valid.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def database_of(conn: Connection) -> str:
    # Ids and stamps repeat across databases (tests, a restored copy): the database is in every key.
    return str(conn.engine.url)


def config_entry(conn: Connection, business_id: int, version: int) -> ConfigEntry:
    key = (database_of(conn), business_id, version)
    with _lock:
        found = _configs.get(key)
        if found is not None:
            _configs.move_to_end(key)
            return found
        found = _configs[key] = ConfigEntry(version)
        while len(_configs) > CONFIG_ENTRIES:
            _configs.popitem(last=False)
        return found


@contextmanager
def pin(
    conn: Connection, business_id: int, version: int, reread: Callable[[], int | None]
) -> Iterator[Pin]:
    """For the block, lookups of this business's configuration on `conn` come from the cache
    entry of `version`. The block must not write the business's configuration."""
    info = conn.info
    before = info.get(_PIN)
    pinned_now = info[_PIN] = Pin(business_id, config_entry(conn, business_id, version), reread)
    try:
        yield pinned_now
    finally:
        info[_PIN] = before


def pinned(conn: Connection, business_id: int) -> Pin | None:
    found: Pin | None = conn.info.get(_PIN)
    return found if found is not None and found.business_id == business_id else None


def part(conn: Connection, business_id: int, name: str, load: Callable[[], T]) -> T:
    """The named part of the pinned configuration, loaded on a miss; with nothing pinned, `load`
    as before. On PostgreSQL each statement sees the latest commit, so a part loaded on a miss is
    kept only if the stamp has not moved meanwhile (otherwise it serves this call alone)."""
    found = pinned(conn, business_id)
    if found is None:
        return load()
    parts = found.entry.parts
    if name in parts:
        value: T = parts[name]
        return value
    value = load()
    if conn.dialect.name == "sqlite" or found.reread() == found.entry.version:
        parts[name] = value
    return value


def clear() -> None:
    """Forget everything (tests that compare a cold process with a warm one)."""
    with _lock:
        _configs.clear()
        _account_ids.clear()


# --- ledger account ids -------------------------------------------------------------------


def known_account_ids(conn: Connection, business_id: int, keys: Iterable[str]) -> dict[str, int]:
    """The ids of these accounts this process knows: committed ones, and those this transaction
    has itself learned (they are valid inside it)."""
    database = database_of(conn)
    found: dict[str, int] = {}
    layers = conn.info.get(_PENDING)
    for key in keys:
        id_ = _account_ids.get((database, business_id, key))
        if id_ is None and layers:
            for _name, layer in reversed(layers):
                id_ = layer.get((database, business_id, key))
                if id_ is not None:
                    break
        if id_ is not None:
            found[key] = id_
    return found


def learned_account_ids(conn: Connection, business_id: int, ids: dict[str, int]) -> None:
    """Ids read or created in the current transaction: kept for it, shared once it commits."""
    if not ids or not _watching(conn):
        return
    database = database_of(conn)
    layers = conn.info.get(_PENDING)
    if not layers:
        layers = conn.info[_PENDING] = [(None, {})]
    layer = layers[-1][1]
    for key, id_ in ids.items():
        layer[(database, business_id, key)] = id_


_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


def _watching(conn: Connection) -> bool:
    """Whether this engine's transaction events are listened to since before the current
    transaction began. The first time it is not: this transaction's savepoints were not seen,
    so what it learns is not kept (the next transactions' is)."""
    engine = conn.engine
    if engine in _watched:
        return not conn.info.get(_UNSEEN, False)
    with _lock:
        if engine not in _watched:
            event.listen(engine, "begin", _began)
            event.listen(engine, "commit", _committed)
            event.listen(engine, "rollback", _rolled_back)
            event.listen(engine, "savepoint", _savepoint)
            event.listen(engine, "rollback_savepoint", _savepoint_rolled_back)
            event.listen(engine, "release_savepoint", _savepoint_released)
            _watched.add(engine)
    conn.info[_UNSEEN] = True
    return False


def _began(conn: Connection) -> None:
    # A transaction abandoned without a rollback event (its connection reset by the pool) left
    # nothing behind that the next one could take for its own.
    conn.info.pop(_PENDING, None)
    conn.info.pop(_UNSEEN, None)
    conn.info.pop(_COMMITTING, None)


def _committed(conn: Connection) -> None:
    # SQLAlchemy's commit event fires before the database commits: a COMMIT that then fails
    # (disk full, a deferred constraint) must not leave ids of rows that never existed, so the
    # ids wait here until `committed` is called once the COMMIT has returned.
    conn.info.pop(_UNSEEN, None)
    layers = conn.info.pop(_PENDING, None)
    if layers:
        conn.info[_COMMITTING] = layers


def committed(conn: Connection) -> None:
    """The transaction's COMMIT returned: share the account ids it learned. A caller that never
    says so (a transaction opened by hand) only leaves the cache colder, never wrong."""
    layers = conn.info.pop(_COMMITTING, None)
    if not layers:
        return
    with _lock:
        for _name, layer in layers:
            _account_ids.update(layer)
        while len(_account_ids) > ACCOUNT_IDS:
            _account_ids.popitem(last=False)


def _rolled_back(conn: Connection) -> None:
    conn.info.pop(_UNSEEN, None)
    conn.info.pop(_PENDING, None)
    conn.info.pop(_COMMITTING, None)


def _savepoint(conn: Connection, name: str | None) -> None:
    if name is None:
        # SQLAlchemy names it "sa_savepoint_<n>" after this event (which sees None), n counted
        # per Connection object: the name is what its release or rollback event will carry.
        made = getattr(conn, "_Connection__savepoint_seq", None)
        if not isinstance(made, int):  # another SQLAlchemy: keep nothing of this transaction
            conn.info.pop(_PENDING, None)
            conn.info[_UNSEEN] = True
            return
        name = f"sa_savepoint_{made + 1}"
    layers = conn.info.get(_PENDING)
    if layers is None:
        layers = conn.info[_PENDING] = [(None, {})]
    layers.append((name, {}))


def _ended(conn: Connection, name: str) -> tuple[list[Any], list[dict[Any, int]]] | None:
    """The layers of this transaction and those the savepoint `name` ends (it and the ones made
    inside it), taken off; None, and nothing of the transaction kept, when `name` is not among
    them (a savepoint made by hand, not through `begin_nested`)."""
    layers = conn.info.get(_PENDING)
    if not layers:
        return None
    names = [layer_name for layer_name, _layer in layers]
    if name not in names[1:]:
        conn.info.pop(_PENDING, None)
        conn.info[_UNSEEN] = True
        return None
    at = names.index(name, 1)
    ended = [layer for _name, layer in layers[at:]]
    del layers[at:]
    return layers, ended


def _savepoint_rolled_back(conn: Connection, name: str, _context: Any) -> None:
    _ended(conn, name)


def _savepoint_released(conn: Connection, name: str, _context: Any) -> None:
    found = _ended(conn, name)
    if found is not None:
        layers, ended = found
        for layer in ended:
            layers[-1][1].update(layer)
