"""Group commit: the writes of concurrent requests in one process share one transaction.

Under load almost all of a purchase's time was queueing for the single write lock (SQLite) and
paying one commit per purchase. Here each request hands its work (a function of a connection) to
one writer thread per Database; the thread takes what is queued (up to MAX_JOBS), opens ONE
transaction, runs each job in order inside its own SAVEPOINT and commits once. A job that raises
rolls back alone and its request gets its own error; the others commit. Every request learns its
answer only after the COMMIT, so nothing is acknowledged that a crash could still lose.

A lone request does not wait: the thread starts a batch as soon as it finds the queue non-empty;
batches grow by themselves while the previous one is committing. If the commit fails, or
PostgreSQL reports a deadlock or a serialization failure, the batch's jobs run again one at a time,
each in its own transaction, so each gets a true answer. On PostgreSQL a batch first takes an
advisory lock per business, in ascending order: batches of one business from several processes
follow each other instead of deadlocking on shared rows (rollups, counters).

LEALTAD_GROUP_COMMIT: unset, on for SQLite, and on PostgreSQL for the jobs a batch writes
set-wise (purchases) only, where alone it measured slower (see `enabled`); 1 on, 0 off (each
request its own transaction, as before): for comparison and as an operations switch
(docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Histogram
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from lealtad.db.engine import Database

log = logging.getLogger("lealtad.group_commit")

ENV_SWITCH = "LEALTAD_GROUP_COMMIT"
ENV_MAX_JOBS = "LEALTAD_GROUP_COMMIT_MAX"
MAX_JOBS = 64
# An idle writer thread ends; the next request starts another. No thread outlives its use, even
# when a test suite builds hundreds of apps and never disposes their databases.
IDLE_SECONDS = 5.0
# pg_advisory_xact_lock(namespace, business_id): the first key keeps these apart from any other
# advisory lock taken on the same server.
ADVISORY_NAMESPACE = 0x4C470001
# PostgreSQL's deadlock_detected and serialization_failure: the batch is re-run one by one.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})

BATCH_JOBS = Histogram(
    "lealtad_group_commit_batch_jobs",
    "Jobs committed together in one group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
FALLBACKS = Counter(
    "lealtad_group_commit_fallbacks",
    "Group-commit batches re-run one job per transaction after a failed commit or a deadlock",
)


def enabled(db: Database, setwise: bool = False) -> bool:
    """`1` on, `0` off; unset (or `auto`): on for SQLite; on PostgreSQL only for jobs a batch
    writes set-wise (`setwise`: purchases, redemptions). SQLite has one writer at a time anyway,
    and a batch spares each job its own BEGIN IMMEDIATE and COMMIT. On PostgreSQL each request's
    transaction runs beside the others, row locks permitting: a batch of jobs each run alone
    (one writer thread per process, one batch per business at a time) measured slower, 0.77x
    for redemptions; written set-wise, purchases measured 1.3-2.5x and redemptions 1.2x faster
    (docs/benchmarks.md)."""
    switch = os.environ.get(ENV_SWITCH, "auto").strip().lower()
    if switch in {"0", "false", "no", "off"}:
        return False
    if switch in {"1", "true", "yes", "on"}:
        return True
    return db.dialect == "sqlite" or setwise


# What a batch enters once per business before its jobs run, e.g. the business's configuration
# pinned once (tenancy.config.pinned) instead of once per purchase.
Around = Callable[[Connection, int], AbstractContextManager[Any]]


# (True, what the job returned) or (False, what it raised).
Outcome = tuple[bool, Any]


@contextmanager
def group_savepoint(conn: Connection) -> Iterator[None]:
    """A set-wise group's writes in one savepoint: if the block raises, the savepoint rolls back
    and so do the sums held on the connection for the batch's end (its `info`), so that the
    group's requests can then run alone as if it had never been tried."""
    noted = {k: dict(v) if isinstance(v, dict) else v for k, v in conn.info.items()}
    try:
        with conn.begin_nested():
            yield
    except BaseException:
        conn.info.clear()
        conn.info.update(noted)
        raise


@dataclass(frozen=True)
class Together:
    """A job that neighbouring jobs of the same kind and business may write with it, set-wise:
    `write(conn, business id, their items, alone)` answers each, in order, and calls `alone(n)`
    for one it leaves to its own `work` (run in its savepoint, as any job)."""

    write: Callable[[Connection, int, list[Any], Callable[[int], Outcome]], list[Outcome]]
    item: Any


@dataclass
class Job:
    scope: int  # the business the job writes for: the advisory lock's key on PostgreSQL
    work: Callable[[Connection], Any]
    context: contextvars.Context  # the request's (request id, audit origin) for the writer thread
    future: Future[Any] = field(default_factory=Future)
    around: Around | None = None
    together: Together | None = None


class _Abort(Exception):
    """A job met a failure that dooms the whole transaction: the batch is re-run one by one."""


class GroupWriter:
    """The writer thread of one Database in one process; started lazily, ended when idle or when
    the Database is disposed."""

    def __init__(self, db: Database, max_jobs: int = MAX_JOBS) -> None:
        self.db = db
        self.max_jobs = max_jobs
        self.pid = os.getpid()
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(
        self,
        scope: int,
        work: Callable[[Connection], Any],
        around: Around | None = None,
        together: Together | None = None,
    ) -> Future[Any]:
        job = Job(scope, work, contextvars.copy_context(), around=around, together=together)
        with self._cond:
            if self._stopping:
                raise RuntimeError("the database was disposed")
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="lealtad-group-commit", daemon=True
                )
                self._thread.start()
            else:
                self._cond.notify()
        return job.future

    def stop(self, timeout: float = 10.0) -> None:
        """Runs what is queued, then ends the thread."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _take(self) -> list[Job] | None:
        with self._cond:
            deadline = time.monotonic() + IDLE_SECONDS
            while not self._queue:
                left = deadline - time.monotonic()
                if self._stopping or left <= 0:
                    self._thread = None
                    return None
                self._cond.wait(left)
            count = min(len(self._queue), self.max_jobs)
            return [self._queue.popleft() for _ in range(count)]

    def _serve(self) -> None:
        while (taken := self._take()) is not None:
            # A request whose caller went away before its turn is dropped; once running, a job
            # cannot be cancelled, so an answer is never set on a cancelled future.
            jobs = [job for job in taken if job.future.set_running_or_notify_cancel()]
            if not jobs:
                continue
            try:
                self.run_batch(jobs)
            except BaseException as exc:  # never leave a request waiting for ever
                log.exception("group commit writer failed")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def run_batch(self, jobs: list[Job]) -> None:
        if len(jobs) == 1:  # alone, its transaction is its savepoint: two statements saved
            run_alone(self.db, jobs[0])
            return
        outcomes: list[Outcome] = []
        try:
            with self.db.transaction() as conn, ExitStack() as once_per_business:
                lock_businesses(conn, (job.scope for job in jobs))
                entered: set[tuple[int, Around]] = set()
                for job in jobs:
                    if job.around is not None and (job.scope, job.around) not in entered:
                        entered.add((job.scope, job.around))
                        once_per_business.enter_context(job.around(conn, job.scope))
                outcomes = _run_jobs(conn, jobs)
        except Exception as exc:  # the commit failed, or a deadlock doomed the transaction
            cause = exc.__cause__ or exc
            log.warning("group commit of %d jobs failed (%r); one by one now", len(jobs), cause)
            FALLBACKS.inc()
            for job in jobs:
                run_alone(self.db, job)
            return
        BATCH_JOBS.observe(len(jobs))
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)


def _run_jobs(conn: Connection, jobs: list[Job]) -> list[Outcome]:
    """Each job in order: a run of neighbours that can be written together (the same `write`
    and business) goes to its `write` at once, any other job runs alone in its savepoint."""
    outcomes: list[Outcome] = []
    start = 0
    while start < len(jobs):
        first = jobs[start]
        end = start + 1
        if first.together is not None:
            kind = first.together.write
            while end < len(jobs) and _joins(jobs[end], kind, first.scope):
                end += 1
        run = jobs[start:end]
        if first.together is None or len(run) == 1:
            outcomes.append(_attempt(conn, first))
        else:
            items = [job.together.item for job in run if job.together is not None]

            def alone(n: int, run: list[Job] = run) -> Outcome:
                return _attempt(conn, run[n])

            # In a copy of the first request's context: `alone` enters each job's own.
            context = first.context.copy()
            outcomes += context.run(first.together.write, conn, first.scope, items, alone)
        start = end
    return outcomes


def _joins(job: Job, kind: Any, scope: int) -> bool:
    return job.together is not None and job.together.write is kind and job.scope == scope


def _attempt(conn: Connection, job: Job) -> Outcome:
    # What a job notes on the connection (the metrics tally) goes back with its savepoint.
    noted = {
        key: dict(value) if isinstance(value, dict) else value for key, value in conn.info.items()
    }
    try:
        with conn.begin_nested():
            return True, job.context.run(job.work, conn)
    except Exception as exc:
        conn.info.clear()
        conn.info.update(noted)
        if _dooms_transaction(exc):
            raise _Abort from exc
        return False, exc


def run_alone(db: Database, job: Job) -> None:
    """The job in its own transaction: the answer it would have had without group commit."""
    try:
        with db.transaction() as conn:
            lock_businesses(conn, (job.scope,))
            value = job.context.run(job.work, conn)
    except Exception as exc:
        job.future.set_exception(exc)
    else:
        BATCH_JOBS.observe(1)
        job.future.set_result(value)


def lock_businesses(conn: Connection, scopes: Iterable[int]) -> None:
    """PostgreSQL: one business's batches one at a time across processes, locks taken in
    ascending order so two batches never wait on each other. SQLite has one writer anyway."""
    if conn.dialect.name != "postgresql":
        return
    for scope in sorted(set(scopes)):
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :scope)"),
            {"ns": ADVISORY_NAMESPACE, "scope": scope},
        )


def _dooms_transaction(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        return getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES
    return False


async def committed(
    db: Database,
    scope: int,
    work: Callable[[Connection], Any],
    around: Around | None = None,
    together: Together | None = None,
) -> Any:
    """What `work(conn)` returned, once its transaction committed; its exception if it raised
    (its own savepoint rolled back, the others' writes kept). `around` is entered once per
    business of a batch, around all its jobs; a job alone or without the writer enters it itself
    if it needs it. `together`: how the batch may write this job with its neighbours of the same
    kind instead of running `work` (which stays the job's answer alone)."""
    if not enabled(db, setwise=together is not None):
        return await run_in_threadpool(_own_transaction, db, work)
    submitted = writer_for(db).submit(scope, work, around, together)
    return await asyncio.wrap_future(submitted)


def committed_here(
    db: Database,
    scope: int,
    work: Callable[[Connection], Any],
    around: Around | None = None,
    together: Together | None = None,
) -> Any:
    """As `committed`, for a caller on a thread of its own (a page route run in the thread
    pool): it waits for the writer's answer there."""
    if not enabled(db, setwise=together is not None):
        return _own_transaction(db, work)
    return writer_for(db).submit(scope, work, around, together).result()


def _own_transaction(db: Database, work: Callable[[Connection], Any]) -> Any:
    with db.transaction() as conn:
        return work(conn)


# --- one writer per Database and process ---------------------------------------------------------

_WRITERS_LOCK = threading.Lock()
_ATTRIBUTE = "_lealtad_group_writer"


def writer_for(db: Database) -> GroupWriter:
    """This process's writer for `db`. A forked worker makes its own: threads do not survive a
    fork, and the parent's queue is not the child's."""
    writer: GroupWriter | None = getattr(db, _ATTRIBUTE, None)
    if writer is not None and writer.pid == os.getpid():
        return writer
    with _WRITERS_LOCK:
        writer = getattr(db, _ATTRIBUTE, None)
        if writer is None or writer.pid != os.getpid():
            max_jobs = int(os.environ.get(ENV_MAX_JOBS, MAX_JOBS))
            writer = GroupWriter(db, max_jobs=max(1, max_jobs))
            setattr(db, _ATTRIBUTE, writer)
            db.on_dispose(lambda: forget_writer(db))
        return writer


def forget_writer(db: Database) -> None:
    """Stops and drops `db`'s writer (Database.dispose calls this through its hook)."""
    writer: GroupWriter | None = db.__dict__.pop(_ATTRIBUTE, None)
    if writer is not None and writer.pid == os.getpid():
        writer.stop()
