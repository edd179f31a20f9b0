"""Running an import: rows in file order, in batches that each commit with the run's progress.
Purchases are recorded set-wise (`imports.batch`), earning with the API's own engine; a row the
bulk path cannot reproduce exactly, and every member row, goes through the API's service. A run
killed half-way resumes after its last committed batch; a row sent twice is stopped by its
receipt (or the service's idempotency), so nothing doubles."""

from __future__ import annotations

import csv
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.comms.outbox import HISTORIC
from lealtad.db.engine import Database
from lealtad.errors import Conflict, Invalid, LealtadError, NotFound
from lealtad.imports import members_history, model, store
from lealtad.imports.batch import PurchaseBatches
from lealtad.kit.clock import Clock, naive_utc
from lealtad.members import service as members
from lealtad.purchases import service as purchases
from lealtad.purchases import store as purchase_store
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role

Kind = Literal["purchases", "members", "balances"]
Result = Literal["loaded", "already"]
BATCH_SIZE = model.BATCH_SIZE
# 10,000 rows of a till export hold about 1 MB of text; rows near the 64 KiB line limit are cut
# into batches of a hundred or so.
BATCH_BYTES = 8 * 1024 * 1024
SAME_RECEIPT = ("duplicate_receipt", "idempotency_key_reused")
# Named by id, a member erased after their sale was imported: the service refuses before it
# looks at the receipt, but a row already recorded is the same sale, not a new one.
ERASED = "member_erased"


@dataclass(frozen=True, slots=True)
class ImportPrincipal(Principal):
    """The importer acting for a business: its run, not a person, in the journal and audit."""

    run_id: int = 0

    @property
    def actor(self) -> str:
        return f"import:{self.run_id}"


@dataclass(frozen=True)
class Outcome:
    run_id: int
    resumed_from: int
    rows: int
    loaded: int
    already: int
    rejected: int
    rejects_path: Path | None


Apply = Callable[[Connection, dict[str, Any], datetime], Result]
# A whole batch at once: each row's "loaded", "already" or the reason it is rejected.
ApplyBatch = Callable[[Connection, list[model.Row], datetime], list[str]]
# Given the run's id (known once the run is recorded), the function that loads a batch.
ApplyFor = Callable[[int], ApplyBatch]
Progress = Callable[[int, int], None]


def rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.csv")


def import_purchases(
    db: Database,
    business_id: int,
    path: Path,
    *,
    secret_key: str,
    clock: Clock,
    location_id: int | None = None,
    batch_size: int = model.PURCHASE_BATCH_SIZE,
    progress: Progress | None = None,
) -> Outcome:
    with db.read() as conn:
        business = tenancy.get_business(conn, business_id)
        if location_id is not None:
            tenancy.get_location(conn, business_id, location_id)

    def apply_for(run_id: int) -> ApplyBatch:
        principal = ImportPrincipal(business_id, Role.manager, location_id, run_id=run_id)
        batches = PurchaseBatches(
            business,
            location_id=location_id,
            actor=principal.actor,
            staff_id=principal.staff_id,
            slow=lambda conn, fields, now: apply(conn, principal, fields, now),
        )

        def historic(conn: Connection, batch: list[model.Row], now: datetime) -> list[str]:
            # The connection lives for this batch's transaction only.
            conn.execution_options(**{HISTORIC: True})
            return batches.apply(conn, batch, now)

        return historic

    def apply(
        conn: Connection, principal: Principal, fields: dict[str, Any], now: datetime
    ) -> Result:
        row = model.purchase(fields, business.currency, location_id)
        member_id = row.data.member_id
        if row.data.card_number is not None:
            card = row.data.card_number
            member_id = members.find(conn, business_id, secret_key, card_number=card).id
            if row.expected_member_id not in (None, member_id):
                raise Invalid(
                    "card_number and member_id name different members", code="member_mismatch"
                )
        there = purchase_store.purchase_by_receipt(conn, business_id, row.data.receipt_id)
        try:
            with conn.begin_nested():
                # The receipt is the idempotency key, exactly as for an API call without the
                # header; a replay of the same row returns the first answer and adds nothing.
                purchases.record(conn, principal, row.data, secret_key=secret_key, now=now)
        except Conflict as exc:
            if exc.code not in (*SAME_RECEIPT, ERASED) or there is None:
                raise
            # Recorded before under another key or with other details (the POS sent it live):
            # the receipt is the sale's identity, so the same sale is there, a different one is
            # a conflict to look at.
            if (there.amount, there.member_id) != (row.data.amount, member_id):
                if exc.code == ERASED:
                    raise
                raise Conflict(
                    f"receipt {row.data.receipt_id!r} is already recorded with another amount "
                    "or member",
                    code="receipt_differs",
                ) from None
        return "already" if there is not None else "loaded"

    return _run(db, business_id, path, "purchases", apply_for, clock, batch_size, progress)


def import_members(
    db: Database,
    business_id: int,
    path: Path,
    *,
    secret_key: str,
    clock: Clock,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Outcome:
    with db.read() as conn:
        zone = ZoneInfo(tenancy.get_business(conn, business_id).timezone)

    def apply(conn: Connection, fields: dict[str, Any], now: datetime) -> Result:
        fields, history = members_history.split(fields, zone, now)
        data = model.member(fields)
        for found_by in ({"email": data.email}, {"phone": data.phone}):
            if next(iter(found_by.values())) is None:
                continue
            try:
                members.find(conn, business_id, secret_key, **found_by)  # type: ignore[arg-type]
                return "already"
            except (NotFound, Invalid):
                pass
        members_history.check(conn, business_id, history, now)
        enrolled_at = history.enrolled_at or now
        # A member brought with their enrolment date is history: no welcome message, no
        # webhook, as for the purchases of a historic import (D35).
        conn.execution_options(**{HISTORIC: history.enrolled_at is not None})
        member_id = members.enrol(
            conn,
            business_id,
            data,
            channel="import",
            location_id=data.location_id,
            now=enrolled_at,
        )
        members_history.apply(
            conn, business_id, member_id, history, zone=zone, enrolled_at=enrolled_at, now=now
        )
        return "loaded"

    return _run(
        db, business_id, path, "members", lambda _: _one_by_one(apply), clock, batch_size, progress
    )


def _one_by_one(apply: Apply) -> ApplyBatch:
    def each(conn: Connection, batch: list[model.Row], now: datetime) -> list[str]:
        outcomes: list[str] = []
        for row in batch:
            reason = row.error
            if reason is None and row.fields is not None:
                try:
                    # A savepoint per row: a refused row leaves nothing half-written behind.
                    with conn.begin_nested():
                        outcomes.append(apply(conn, row.fields, now))
                    continue
                except LealtadError as exc:
                    reason = f"{exc.code}: {exc.message}"
                except ValueError as exc:
                    reason = str(exc)
            outcomes.append(reason or "unreadable row")
        return outcomes

    return each


@contextmanager
def _only_importer(path: Path) -> Iterator[None]:
    """One import of a file at a time on this machine: a second would share the run's row and
    its reject file. The lock dies with the process, so a rerun after kill -9 gets it at once."""
    with path.open("rb") as held:
        try:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise model.FileProblem(
                f"{path.name}: another import of this file is running; wait for it to end"
            ) from None
        yield


def _run(
    db: Database,
    business_id: int,
    path: Path,
    kind: Kind,
    apply_for: ApplyFor,
    clock: Clock,
    batch_size: int,
    progress: Progress | None,
) -> Outcome:
    model.check_file(path)  # before the lock: opening a FIFO would wait for a writer
    with _only_importer(path):
        return _locked_run(db, business_id, path, kind, apply_for, clock, batch_size, progress)


def _locked_run(
    db: Database,
    business_id: int,
    path: Path,
    kind: Kind,
    apply_for: ApplyFor,
    clock: Clock,
    batch_size: int,
    progress: Progress | None,
) -> Outcome:
    names = model.header(path, kind)  # a bad header stops here, before any run is recorded
    sha256, total_lines = model.digest(path)
    now = clock.now()
    with db.transaction() as conn:
        found = store.unfinished_run(conn, business_id, kind, sha256)
        if found is not None:
            run_id, resumed_from = found.id, found.rows_done
        else:
            run_id = store.start_run(conn, business_id, kind, str(path), sha256, naive_utc(now))
            resumed_from = 0
    apply = apply_for(run_id)
    rows = model.rows(path, kind)
    for _ in islice(rows, resumed_from):
        pass
    first = list(islice(rows, 1))
    rejects = _Rejects(
        rejects_path(path),
        names,
        fresh=found is None,
        keep_before=first[0].line if first else None,
    )
    stream = chain(first, rows)
    try:
        for batch in _batches(stream, batch_size):
            _batch(db, business_id, run_id, batch, apply, clock, rejects)
            if progress is not None:
                progress(batch[-1].line, total_lines)
            # Let go of this batch before the next is read: two alive at once set the peak.
            del batch
        with db.transaction() as conn:
            store.finish_run(conn, business_id, run_id, naive_utc(clock.now()))
            done = store.run(conn, business_id, run_id)
    finally:
        rejects.close()
    return Outcome(
        run_id=run_id,
        resumed_from=resumed_from,
        rows=done.rows_done,
        loaded=done.loaded,
        already=done.already,
        rejected=done.rejected,
        rejects_path=rejects.path if rejects.path.exists() else None,
    )


def _batches(stream: Iterator[model.Row], size: int) -> Iterator[list[model.Row]]:
    """Up to `size` rows, or fewer once they hold BATCH_BYTES of text: a file of rows near the
    line limit must not hold thousands of them at once. A resumed run counts rows, not batches,
    so where a batch ends does not matter to it."""
    batch: list[model.Row] = []
    held = 0
    for row in stream:
        batch.append(row)
        held += row.size
        if len(batch) >= size or held >= BATCH_BYTES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _batch(
    db: Database,
    business_id: int,
    run_id: int,
    batch: list[model.Row],
    apply: ApplyBatch,
    clock: Clock,
    rejects: _Rejects,
) -> None:
    """One transaction: the batch's rows and the run's progress commit together or not at all."""
    counts = {"loaded": 0, "already": 0, "rejected": 0}
    now = clock.now()
    with db.transaction() as conn:
        for row, outcome in zip(batch, apply(conn, batch, now), strict=True):
            if outcome in ("loaded", "already"):
                counts[outcome] += 1
                continue
            counts["rejected"] += 1
            rejects.add(row, outcome)
        store.record_batch(conn, business_id, run_id, rows=len(batch), now=naive_utc(now), **counts)
        # Written before the commit: a crash now leaves rejects the rerun drops and writes again.
        rejects.flush()


class _Rejects:
    """FILE.rejects.csv: line, reason and the row as it was. On a resumed run, rejects of rows
    after the last committed batch are dropped, as those rows are read again."""

    def __init__(
        self, path: Path, names: list[str] | None, *, fresh: bool, keep_before: int | None
    ) -> None:
        self.path = path
        self.head = ["line", "reason", *(names or ["row"])]
        kept: list[list[str]] = []
        if not fresh and path.exists():
            with path.open(newline="", encoding="utf-8") as f:
                old = list(csv.reader(f))[1:]
            # A line cut short by the crash belongs to the batch that never committed.
            kept = [
                r
                for r in old
                if r and r[0].isdigit() and (keep_before is None or int(r[0]) < keep_before)
            ]
        self.count = len(kept)
        self._file: Any = None
        if kept or path.exists():
            self._open(kept)

    def _open(self, kept: list[list[str]]) -> None:
        # A reason may quote a JSON key with a lone surrogate: escaped, never a crash.
        self._file = self.path.open("w", newline="", encoding="utf-8", errors="backslashreplace")
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.head)
        self._writer.writerows(kept)

    def add(self, row: model.Row, reason: str) -> None:
        if self._file is None:
            self._open([])
        self._writer.writerow([row.line, reason, *row.original])
        self.count += 1

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is None:
            return
        self._file.close()
        if self.count == 0:
            self.path.unlink(missing_ok=True)
