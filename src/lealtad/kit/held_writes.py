"""Writes a batch takes once at its end instead of once per job (the group commit's batch,
db/group_commit.py): what the jobs would write waits in a dict on the connection and one function
writes it all when the block ends without an error (an error rolls the transaction back anyway).

A dict on `conn.info` because the writer snapshots `conn.info` before each job (copying its
dicts) and restores it when the job's savepoint rolls back: a failed job's held writes go with it.
So the dict is read back from the connection at the end, never kept from the start."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection


@contextmanager
def held(conn: Connection, key: str, write: Callable[[dict[Any, Any]], object]) -> Iterator[None]:
    """Holds the writes filed under `key` for the block; nested blocks write at the outermost's
    end."""
    if key in conn.info:
        yield
        return
    conn.info[key] = {}
    try:
        yield
    except BaseException:
        conn.info.pop(key, None)
        raise
    waiting: dict[Any, Any] = conn.info.pop(key, {})
    if waiting:
        write(waiting)


def waiting(conn: Connection, key: str) -> dict[Any, Any] | None:
    """The dict holding `key`'s writes while a block holds them, else None (write at once)."""
    found: dict[Any, Any] | None = conn.info.get(key)
    return found
