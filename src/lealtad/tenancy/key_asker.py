"""PostgreSQL: whether remembered API keys are still in force, asked from the event loop.

The question D61 asks on every use of a remembered key went, on PostgreSQL, to a thread and a
pooled connection (a hop each way, BEGIN, the read, ROLLBACK): on this machine 1.2 ms of CPU per
request, more than the whole HTTP edge. Here each event loop has its own autocommit connection
and asks without a thread, and the questions that arrive while one is out are answered together
by the next, in one statement for all their keys. A question is only ever answered by a
statement that started after it was asked, so a key revoked anywhere is still refused by the
very next request (a statement sees every commit made before it began)."""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

from sqlalchemy.engine import make_url

from lealtad.tenancy import store

# Connections inherited through a fork: closing them in the child would end the parent's
# sessions (libpq sends its goodbye on the shared socket), so the child only keeps them.
_inherited: list[Any] = []


class KeyAsker:
    """One event loop's connection and its questions waiting for the next statement."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: Any = None
        self._waiting: dict[int, list[asyncio.Future[bool]]] = {}
        self._asking: asyncio.Task[None] | None = None

    async def in_force(self, key_id: int) -> bool:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        self._waiting.setdefault(key_id, []).append(answer)
        if self._asking is None:
            # Kept: the loop holds only a weak reference to a running task.
            self._asking = loop.create_task(self._ask_all())
        return await answer

    async def _ask_all(self) -> None:
        try:
            while self._waiting:
                asked, self._waiting = self._waiting, {}
                try:
                    found = await self._in_force(list(asked))
                except Exception as error:  # each caller then asks the pooled way
                    self.close()
                    for waiters in asked.values():
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(error)
                    continue
                for key_id, waiters in asked.items():
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(key_id in found)
        finally:
            self._asking = None

    async def _in_force(self, key_ids: list[int]) -> set[int]:
        if self._conn is None or self._conn.closed:
            import psycopg  # only where PostgreSQL is used

            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        cursor = await self._conn.execute(store.KEYS_IN_FORCE_PG_SQL, [key_ids])
        return {int(row[0]) for row in await cursor.fetchall()}

    def close(self) -> None:
        """Ends the session at once, without the event loop (a loop may be gone by then)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            conn.pgconn.finish()


class Askers:
    """A database's askers, one per event loop of this process (tests run many loops)."""

    def __init__(self, url: str) -> None:
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, KeyAsker]
        self._by_loop = weakref.WeakKeyDictionary()
        self._pid = os.getpid()

    def for_this_loop(self) -> KeyAsker:
        loop = asyncio.get_running_loop()
        if self._pid != os.getpid():
            _inherited.extend(self._by_loop.values())
            self._by_loop = weakref.WeakKeyDictionary()
            self._pid = os.getpid()
        asker = self._by_loop.get(loop)
        if asker is None:
            asker = self._by_loop[loop] = KeyAsker(self._conninfo)
            # The loop's end ends its session (and spares psycopg's warning for an open one).
            weakref.finalize(loop, asker.close)
        return asker
