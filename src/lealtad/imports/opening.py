"""`lealtad import balances FILE` and `lealtad import undo RUN`: opening balances from the system
a business moved from, through the ledger (ledger/opening.py), and their undoing as a whole run.

A balances file is all or nothing (D68): every row is checked first (the member exists, the
stamp card is in the program, the dates make sense) and a file with any bad row loads nothing,
its problems listed by line. Half a member's balance brought in is worse than none: the file is
fixed and imported again. A file that passed is loaded in committed batches like any import (a
run killed half-way resumes); the same file a second time is refused, as it would double every
balance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.db.engine import Database
from lealtad.errors import Conflict, Invalid, LealtadError, NotFound
from lealtad.imports import model, store
from lealtad.imports.balances import Lifetime, OpeningRow, opening
from lealtad.imports.service import (
    BATCH_SIZE,
    Outcome,
    Progress,
    Result,
    _one_by_one,
    _run,
    rejects_path,
)
from lealtad.kit.clock import Clock, naive_utc
from lealtad.ledger import opening as ledger_opening
from lealtad.ledger.model import CASHBACK, CASHBACK_ACCOUNT, POINTS, POINTS_ACCOUNT
from lealtad.members import previous_store
from lealtad.members import service as members
from lealtad.rules import service as rules
from lealtad.tenancy import service as tenancy

KIND: Literal["balances"] = "balances"
# Shown on the command line; the rejects file holds them all.
SHOWN_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str
    original: list[str]


class FileErrors(model.FileProblem):
    """Rows of a balances file that cannot be brought in: nothing was loaded."""

    def __init__(self, path: Path, problems: list[Problem], rejects: Path) -> None:
        self.problems = problems
        self.rejects = rejects
        super().__init__(
            f"{path.name}: {len(problems)} row(s) cannot be imported, so nothing was loaded / "
            f"{len(problems)} fila(s) no se pueden importar; no se ha cargado nada"
        )


def import_balances(
    db: Database,
    business_id: int,
    path: Path,
    *,
    secret_key: str,
    clock: Clock,
    by: str = "import",
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Outcome:
    model.check_file(path)
    names = model.header(path, KIND)
    sha256, _ = model.digest(path)
    with db.read() as conn:
        business = tenancy.get_business(conn, business_id)
        before = store.finished_run(conn, business_id, KIND, sha256)
    if before is not None:
        raise model.FileProblem(
            f"{path.name}: this file was imported already as run {before.id}; importing it "
            f"again would double every balance (`lealtad import undo {before.id}` first) / este "
            f"fichero ya se importó (ejecución {before.id})"
        )
    zone = ZoneInfo(business.timezone)
    problems = _check(db, business_id, path, zone, secret_key, clock.now())
    if problems:
        _write_rejects(path, names, problems)
        raise FileErrors(path, problems, rejects_path(path))
    rejects_path(path).unlink(missing_ok=True)

    def apply_for(run_id: int) -> Any:
        actor = f"import:{run_id}"

        def apply(conn: Connection, fields: dict[str, Any], now: datetime) -> Result:
            row = opening(fields, zone, now)
            member_id = _member(conn, business_id, secret_key, row)
            _check_card(conn, business_id, row, now)
            openings = _openings(row)
            if openings:
                entry = ledger_opening.opening_entry(
                    member_id,
                    openings,
                    earned_at=row.earned_at or now,
                    actor=actor,
                    memo=f"opening balance from the previous system (import run {run_id})",
                )
                ledger_opening.post_opening(conn, business_id, entry, now)
            if row.lifetime is not None:
                _keep_lifetime(conn, business_id, member_id, run_id, row.lifetime, now)
            return "loaded"

        return _one_by_one(apply)

    done = _run(db, business_id, path, KIND, apply_for, clock, batch_size, progress)
    with db.transaction() as conn:
        tenancy.audit_by(
            conn,
            business_id,
            by,
            "import.balances",
            f"import_run:{done.run_id}",
            clock.now(),
            file=path.name[-200:],
            rows=done.rows,
            loaded=done.loaded,
            rejected=done.rejected,
        )
    return done


def undo_run(db: Database, business_id: int, run_id: int, *, by: str, clock: Clock) -> int:
    """Reverses every opening entry of the run with compensating entries; how many. Refused,
    with nothing written, when the run is not a balances import, was undone already, or units
    it brought were spent since (ledger.opening.OpeningUsed)."""
    now = clock.now()
    with db.transaction() as conn:
        run = store.run_or_none(conn, business_id, run_id)
        if run is None:
            raise NotFound(
                f"no import run {run_id} in this business / no hay ejecución {run_id}",
                code="import_run_not_found",
            )
        if run.kind != KIND:
            raise Invalid(
                f"run {run_id} imported {run.kind}; only a balances import can be undone / solo "
                "se puede deshacer una importación de saldos",
                code="import_not_undoable",
            )
        if run.status == "undone":
            raise Conflict(
                f"run {run_id} was undone already / la ejecución {run_id} ya se deshizo",
                code="import_run_undone",
            )
        reversed_entries = ledger_opening.undo(
            conn, business_id, f"import:{run_id}", by=by, now=now
        )
        # The run's lifetime figures are no journal: they simply go, and an earlier run's
        # figures show again.
        figures = previous_store.forget_run(conn, business_id, run_id)
        store.mark_undone(conn, business_id, run_id, naive_utc(now))
        tenancy.audit_by(
            conn,
            business_id,
            by,
            "import.undo",
            f"import_run:{run_id}",
            now,
            entries=reversed_entries,
            previous_figures=figures,
        )
    return reversed_entries


def _check(
    db: Database, business_id: int, path: Path, zone: ZoneInfo, secret_key: str, now: datetime
) -> list[Problem]:
    """Every row checked as the load would, in one read; the problems in file order."""
    problems: list[Problem] = []
    # A member's lifetime figures as first given, with their line: another row of the member
    # may repeat them but not contradict them (which of two totals is true is not ours to pick).
    lifetimes: dict[int, tuple[int, Lifetime]] = {}
    with db.read() as conn:
        for row in model.rows(path, KIND):
            reason = row.error
            if reason is None and row.fields is not None:
                try:
                    parsed = opening(row.fields, zone, now)
                    member_id = _member(conn, business_id, secret_key, parsed)
                    _check_card(conn, business_id, parsed, now)
                    _same_lifetime(lifetimes, member_id, row.line, parsed.lifetime)
                except LealtadError as exc:
                    reason = exc.message
                except ValueError as exc:
                    reason = str(exc)
            if reason is not None:
                problems.append(Problem(row.line, reason, row.original))
    return problems


def _member(conn: Connection, business_id: int, secret_key: str, row: OpeningRow) -> int:
    """The one member the row names, however many ways it names them."""
    found: dict[str, int] = {}
    for name, value in _references(row):
        try:
            found[name] = members.find(conn, business_id, secret_key, **{name: value}).id
        except (NotFound, Invalid):
            raise NotFound(
                f"unknown member: no member has {name} {value!r} / socio desconocido",
                code="member_not_found",
            ) from None
    if len(set(found.values())) > 1:
        raise Invalid(
            f"{' and '.join(found)} name different members / nombran socios distintos",
            code="member_mismatch",
        )
    return next(iter(found.values()))


def _same_lifetime(
    seen: dict[int, tuple[int, Lifetime]], member_id: int, line: int, found: Lifetime | None
) -> None:
    if found is None:
        return
    first = seen.setdefault(member_id, (line, found))
    if first[1] != found:
        raise ValueError(
            f"member {member_id} has other lifetime figures on line {first[0]} "
            f"({first[1].shown()}) than here ({found.shown()}); give them once / el socio tiene "
            f"otras cifras históricas en la línea {first[0]}"
        )


def _keep_lifetime(
    conn: Connection,
    business_id: int,
    member_id: int,
    run_id: int,
    found: Lifetime,
    now: datetime,
) -> None:
    figures = previous_store.PreviousFigures(
        as_of=found.as_of,
        visits=found.visits,
        spend=found.spend,
        points=found.points,
        import_run_id=run_id,
    )
    previous_store.record(conn, business_id, member_id, figures, now)


def _references(row: OpeningRow) -> Iterator[tuple[str, Any]]:
    if row.member_id is not None:
        yield "member_id", row.member_id
    if row.card_number is not None:
        yield "card_number", row.card_number
    if row.email is not None:
        yield "email", row.email


def _check_card(conn: Connection, business_id: int, row: OpeningRow, now: datetime) -> None:
    """Stamps go on a card of the program in force, fewer than fill it: a full card would be a
    reward the ledger alone does not give."""
    if not row.stamps:
        return
    try:
        cards = {c.id: c for c in rules.in_force(conn, business_id, now).definition.stamp_cards}
    except NotFound:
        cards = {}
    card = cards.get(row.stamp_card or "")
    if card is None:
        known = ", ".join(sorted(cards)) or "none / ninguna"
        raise Invalid(
            f"unknown stamp card {row.stamp_card!r}; the program's cards: {known} / tarjeta de "
            "sellos desconocida",
            code="stamp_card_not_found",
        )
    if row.stamps >= card.stamps_required:
        raise Invalid(
            f"{row.stamps} stamps fill card {card.id!r} ({card.stamps_required} needed): bring "
            f"at most {card.stamps_required - 1}, and a full card as its reward / los sellos "
            "llenan la tarjeta",
            code="stamp_card_full",
        )


def _openings(row: OpeningRow) -> list[ledger_opening.Opening]:
    found = []
    if row.points:
        found.append(ledger_opening.Opening(POINTS_ACCOUNT, POINTS, row.points, row.expires_at))
    if row.cashback:
        found.append(
            ledger_opening.Opening(CASHBACK_ACCOUNT, CASHBACK, row.cashback, row.expires_at)
        )
    if row.stamps:
        unit = f"stamps.{row.stamp_card}"
        found.append(ledger_opening.Opening(unit, unit, row.stamps))
    return found


def _write_rejects(path: Path, names: list[str] | None, problems: list[Problem]) -> None:
    import csv

    with rejects_path(path).open("w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.writer(f)
        writer.writerow(["line", "reason", *(names or ["row"])])
        writer.writerows([p.line, p.reason, *p.original] for p in problems)
