"""The CSV drop, for tills that can only export files: a file handed over by upload in the
console or through a watched folder goes through the importer exactly as `lealtad import
purchases` does (the same checks, the receipt id as the sale's identity, so the same file twice
loads nothing twice), and is logged in till_files with its run and its rejected rows. A file
the importer cannot read at all is refused whole, with a reason the console says in words."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from lealtad.connectors import till_file_store as store
from lealtad.db.engine import Database
from lealtad.errors import LealtadError
from lealtad.imports import model, reading
from lealtad.imports import service as importer
from lealtad.imports import store as import_store
from lealtad.kit.clock import Clock, as_utc, naive_utc
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal

UPLOAD, FOLDER = "upload", "folder"
LOADED, WITH_REJECTS, REFUSED = "loaded", "with_rejects", "refused"
SUFFIXES = (*model.CSV_SUFFIXES, *model.JSON_LINES_SUFFIXES)
# The rejects kept in the database for the console's download; a longer list stays whole in the
# file beside the export (watched folder) and the first part of it here.
KEPT_REJECTS_BYTES = 2 * 1024 * 1024
# A run of the same content updated this recently is taken for one still going (a second click
# on the upload button), not for one that stopped half-way and should be resumed.
LIVE_RUN = timedelta(minutes=10)
# The first bytes of files a till's export is often confused with.
SPREADSHEETS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
UTF16 = (b"\xff\xfe", b"\xfe\xff")


class TillFileRefused(LealtadError):
    """The file as a whole cannot be imported; nothing of it was loaded."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(message, code=code, http_status=422)
        self.detail = detail


@dataclass(frozen=True)
class TillFile:
    """One logged file, with its run's counts (zero for a refused file)."""

    id: int
    source: str
    file_name: str
    received_at: datetime
    actor: str
    location_id: int | None
    run_id: int | None
    outcome: str
    error_code: str | None
    problem: str | None
    rows: int
    loaded: int
    already: int
    rejected: int
    has_rejects: bool
    rejects_cut: bool


def _out(row: Any) -> TillFile:
    return TillFile(
        id=row.id,
        source=row.source,
        file_name=row.file_name,
        received_at=as_utc(row.received_at),
        actor=row.actor,
        location_id=row.location_id,
        run_id=row.run_id,
        outcome=row.outcome,
        error_code=row.error_code,
        problem=row.problem,
        rows=row.rows_done or 0,
        loaded=row.loaded or 0,
        already=row.already or 0,
        rejected=row.rejected or 0,
        has_rejects=bool(row.has_rejects),
        rejects_cut=bool(row.rejects_cut),
    )


def check(path: Path) -> None:
    """Refuses, with a code the console words, a file no row of which could load: before a run
    is recorded, as the importer itself does, but telling a spreadsheet, a UTF-16 export and a
    file with semicolons apart from a wrong header."""
    if path.suffix.lower() not in SUFFIXES:
        raise TillFileRefused(
            "till_file_not_csv",
            f"{path.name}: not a .csv file; export the sales as CSV / no es un fichero .csv; "
            "exporte las ventas como CSV",
        )
    with path.open("rb") as f:
        start = f.read(4)
        f.seek(0)
        first = next(reading.lines(f), None)
    if first is None or not start.strip():
        raise TillFileRefused(
            "till_file_empty", f"{path.name}: the file is empty / el fichero está vacío"
        )
    if start.startswith(SPREADSHEETS):
        raise TillFileRefused(
            "till_file_spreadsheet",
            f"{path.name}: a spreadsheet, not CSV; save it as CSV UTF-8 / es una hoja de cálculo, "
            "no un CSV; guárdela como CSV UTF-8",
        )
    if start.startswith(UTF16):
        raise TillFileRefused(
            "till_file_encoding",
            f"{path.name}: UTF-16 text; save it as CSV UTF-8 / texto UTF-16; guárdelo como CSV UTF-8",
        )
    if first.text is None:
        code = "till_file_encoding" if "UTF-8" in (first.problem or "") else "till_file_not_csv"
        raise TillFileRefused(code, f"{path.name}: {first.problem}")
    if path.suffix.lower() in model.CSV_SUFFIXES:
        _check_header(path, first.text)


def _check_header(path: Path, text: str) -> None:
    try:
        cells = next(csv.reader([text]), [])
    except csv.Error:
        cells = []
    names = [c.strip() for c in cells]
    known = model.PURCHASE_FIELDS
    if len(names) == 1 and ";" in names[0]:
        split = {n.strip() for n in names[0].split(";")}
        if split & known:
            raise TillFileRefused(
                "till_file_semicolons",
                f"{path.name}: columns separated by semicolons; export with commas / columnas "
                "separadas por punto y coma; exporte con comas",
            )
    try:
        model.header(path, "purchases")
    except model.FileProblem as exc:
        unknown = sorted(set(names) - known)
        detail = ", ".join(n[:40] for n in unknown[:10])
        code = "till_file_columns" if unknown or not set(names) & known else "till_file_header"
        raise TillFileRefused(code, str(exc)[:1000], detail) from None


def import_file(
    db: Database,
    business_id: int,
    path: Path,
    *,
    source: str,
    file_name: str,
    actor: str,
    secret_key: str,
    clock: Clock,
    location_id: int | None = None,
    principal: Principal | None = None,
    refuse_running: bool = False,
) -> TillFile:
    """Imports one till file and logs it; a refused file is logged and its refusal raised.
    Errors of the database or of the arguments (an unknown location) raise as they are.
    `refuse_running`: for uploads, where a second click sends the file again while the first
    is still importing; a watched folder has one watcher, and resumes a run a crash stopped."""
    name = file_name[-255:] or path.name
    with db.read() as conn:
        tenancy.get_business(conn, business_id)
        if location_id is not None:
            tenancy.get_location(conn, business_id, location_id)
    try:
        check(path)
        if refuse_running:
            _not_running(db, business_id, path, clock)
        done = importer.import_purchases(
            db, business_id, path, secret_key=secret_key, clock=clock, location_id=location_id
        )
    except (TillFileRefused, model.FileProblem) as exc:
        refusal = (
            exc
            if isinstance(exc, TillFileRefused)
            else TillFileRefused("till_file_unreadable", str(exc)[:1000])
        )
        _log(db, business_id, source, name, actor, location_id, clock, refused=refusal)
        raise refusal from None
    kept, cut = _kept_rejects(done.rejects_path)
    with db.transaction() as conn:
        file_id = _insert(
            conn,
            business_id,
            source,
            name,
            actor,
            location_id,
            clock.now(),
            run_id=done.run_id,
            outcome=WITH_REJECTS if done.rejected else LOADED,
            rejects=kept,
            rejects_cut=cut,
        )
        details = {"file": name, "source": source, "loaded": done.loaded}
        details |= {"already": done.already, "rejected": done.rejected}
        target = f"import:{done.run_id}"
        if principal is not None:
            tenancy.audit(conn, principal, "import.purchases", target, clock.now(), **details)
        else:
            tenancy.audit_by(
                conn, business_id, actor, "import.purchases", target, clock.now(), **details
            )
        return _out(store.one(conn, business_id, file_id))


def _not_running(db: Database, business_id: int, path: Path, clock: Clock) -> None:
    sha256, _lines = model.digest(path)
    with db.read() as conn:
        running = import_store.unfinished_run(conn, business_id, "purchases", sha256)
    if running is not None and running.updated_at > naive_utc(clock.now() - LIVE_RUN):
        raise TillFileRefused(
            "till_file_busy",
            f"{path.name}: this file is being imported now / este fichero se está importando ahora",
        )


def _kept_rejects(path: Path | None) -> tuple[str | None, bool]:
    if path is None or not path.exists():
        return None, False
    with path.open("rb") as f:
        data = f.read(KEPT_REJECTS_BYTES + 1)
    if len(data) <= KEPT_REJECTS_BYTES:
        return data.decode("utf-8", "replace"), False
    # Whole lines only: the list is cut after the last complete one.
    return data[: data.rfind(b"\n") + 1].decode("utf-8", "replace"), True


def _log(
    db: Database,
    business_id: int,
    source: str,
    name: str,
    actor: str,
    location_id: int | None,
    clock: Clock,
    *,
    refused: TillFileRefused,
) -> None:
    with db.transaction() as conn:
        _insert(
            conn,
            business_id,
            source,
            name,
            actor,
            location_id,
            clock.now(),
            outcome=REFUSED,
            error_code=refused.code,
            problem=refused.message[:1000],
        )


def _insert(
    conn: Any,
    business_id: int,
    source: str,
    name: str,
    actor: str,
    location_id: int | None,
    now: datetime,
    **values: Any,
) -> int:
    return store.insert_file(
        conn,
        business_id=business_id,
        source=source,
        file_name=name,
        received_at=naive_utc(now),
        actor=actor[:200],
        location_id=location_id,
        rejects_cut=values.pop("rejects_cut", False),
        **values,
    )


def recent(conn: Any, business_id: int, limit: int = 20) -> list[TillFile]:
    return [_out(row) for row in store.recent(conn, business_id, limit)]


def one(conn: Any, business_id: int, file_id: int) -> TillFile | None:
    row = store.one(conn, business_id, file_id)
    return _out(row) if row is not None else None


def rejects(conn: Any, business_id: int, file_id: int) -> tuple[str, str] | None:
    """(file name, the rejects CSV) of a logged file, or None when it kept none."""
    row = store.rejects(conn, business_id, file_id)
    if row is None or row.rejects is None:
        return None
    return row.file_name, row.rejects


def rejected_rows(text: str, limit: int) -> list[dict[str, str]]:
    """The first rejected rows of a rejects CSV: line, reason and the row as the file had it."""
    records = csv.reader(io.StringIO(text, newline=""))
    next(records, None)  # the header
    return [
        {"line": r[0], "reason": r[1], "row": ",".join(r[2:])}
        for r in islice(records, limit)
        if len(r) >= 2
    ]
