"""`lealtad import purchases|members|balances FILE` and `lealtad import undo RUN`: a progress
bar, a summary, a reject file.
Exit 0 when every row is in; 3 when the file was read to its end and some rows were rejected
(the others are loaded); 2 when the file cannot be imported at all (nothing is loaded) or the
command is used wrongly; 1 on any other error, after which running it again resumes. Never a
traceback: a file is input from outside, and its problems are the user's to read."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lealtad.errors import LealtadError
from lealtad.imports import model
from lealtad.kit.clock import SystemClock

import_app = typer.Typer(
    help="Import purchases or members from CSV or JSON lines / importa compras o socios",
    no_args_is_help=True,
)
WITH_REJECTS = 3
CANNOT_IMPORT = 2
STOPPED = 1
# Problems of a balances file printed before pointing at its rejects file.
SHOWN_PROBLEMS = 50

FileArg = Annotated[
    Path,
    typer.Argument(
        help=".csv with a header row, or .jsonl", exists=True, dir_okay=False, readable=True
    ),
]
BusinessOpt = Annotated[str, typer.Option(help="the business slug")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="no progress bar / sin barra de progreso")]
BatchOpt = Annotated[
    int, typer.Option(min=1, max=100_000, help="rows per committed batch / filas por lote")
]


@import_app.command("purchases")
def purchases(
    file: FileArg,
    business: BusinessOpt,
    location: Annotated[
        int | None, typer.Option(help="location id for rows that name none")
    ] = None,
    batch_size: BatchOpt = model.PURCHASE_BATCH_SIZE,
    quiet: QuietOpt = False,
) -> None:
    """Purchases, earning exactly as the API does; the receipt id makes a second import add
    nothing / compras; el número de ticket evita duplicados."""
    _import("purchases", file, business, batch_size, location, quiet)


@import_app.command("members")
def members(
    file: FileArg,
    business: BusinessOpt,
    batch_size: BatchOpt = model.BATCH_SIZE,
    quiet: QuietOpt = False,
) -> None:
    """Members, recognised by e-mail or phone so a second import enrols no one twice /
    socios, reconocidos por e-mail o teléfono."""
    _import("members", file, business, batch_size, None, quiet)


@import_app.command("balances")
def balances(
    file: FileArg,
    business: BusinessOpt,
    batch_size: BatchOpt = model.BATCH_SIZE,
    quiet: QuietOpt = False,
) -> None:
    """Opening balances from the previous system (points with their dates, stamps, cashback),
    through the ledger, and lifetime figures shown apart; all or nothing / saldos iniciales del
    sistema anterior."""
    _import("balances", file, business, batch_size, None, quiet)


@import_app.command("undo")
def undo(
    run_id: Annotated[int, typer.Argument(min=1, help="the run, as `import balances` named it")],
    business: BusinessOpt,
) -> None:
    """Undo a balances import as a whole, with compensating entries, and remove its lifetime
    figures; refused once its units were spent / deshace una importación de saldos entera."""
    from lealtad import cli
    from lealtad.imports import opening
    from lealtad.tenancy import audit_context
    from lealtad.tenancy import store as tenancy_store

    settings = cli._settings()
    db = cli._migrated_database(settings)
    try:
        with db.read() as conn:
            row = tenancy_store.business_by_slug(conn, business)
        if row is None:
            cli.err.print(f"[red]No business / no existe el negocio:[/red] {escape(business)}")
            raise typer.Exit(CANNOT_IMPORT)
        audit_context.use_cli()
        by = audit_context.cli_actor()
        count = opening.undo_run(db, row.id, run_id, by=by, clock=SystemClock())
    except LealtadError as exc:
        raise cli._fail(exc) from exc
    finally:
        db.dispose()
    cli.out.print(
        f"run {run_id} undone: {count} opening entries reversed / ejecución deshecha: "
        f"{count} asientos de apertura revertidos"
    )


def _import(
    kind: str, file: Path, business: str, batch_size: int, location: int | None, quiet: bool
) -> None:
    # Imported here: the services pull in the analytics stack, which `lealtad --help` need not.
    from lealtad import cli
    from lealtad.imports import service
    from lealtad.tenancy import store as tenancy_store

    settings = cli._settings()
    db = cli._migrated_database(settings)
    with db.read() as conn:
        row = tenancy_store.business_by_slug(conn, business)
    if row is None:
        cli.err.print(f"[red]No business / no existe el negocio:[/red] {escape(business)}")
        raise typer.Exit(CANNOT_IMPORT)
    columns = [
        TextColumn(escape(f"{kind} {file.name}")),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines / líneas"),
        # Lines per second over the run so far (file lines, nearly rows for a clean file).
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
    ]
    try:
        # Quiet when asked, or when stderr is not a terminal (a log file, cron, a pipe).
        hidden = quiet or not cli.err.is_terminal
        with Progress(*columns, console=cli.err, transient=False, disable=hidden) as bar:
            task = bar.add_task(kind, total=None, rate=0.0)
            started = time.monotonic()

            def progress(line: int, total: int) -> None:
                rate = line / max(time.monotonic() - started, 1e-6)
                bar.update(task, completed=line, total=max(total, line), rate=rate)

            key, clock = settings.effective_secret_key, SystemClock()
            if kind == "purchases":
                done = service.import_purchases(
                    db,
                    row.id,
                    file,
                    secret_key=key,
                    clock=clock,
                    location_id=location,
                    batch_size=batch_size,
                    progress=progress,
                )
            elif kind == "balances":
                from lealtad.imports import opening
                from lealtad.tenancy import audit_context

                audit_context.use_cli()
                done = opening.import_balances(
                    db,
                    row.id,
                    file,
                    secret_key=key,
                    clock=clock,
                    by=audit_context.cli_actor(),
                    batch_size=batch_size,
                    progress=progress,
                )
            else:
                done = service.import_members(
                    db,
                    row.id,
                    file,
                    secret_key=key,
                    clock=clock,
                    batch_size=batch_size,
                    progress=progress,
                )
    except model.FileProblem as exc:
        cli.err.print(f"[red]Cannot import / no se puede importar:[/red] {escape(str(exc))}")
        for problem in getattr(exc, "problems", [])[:SHOWN_PROBLEMS]:
            cli.err.print(f"line / línea {problem.line}: {escape(problem.reason)}")
        rejects = getattr(exc, "rejects", None)
        if rejects is not None:
            cli.err.print(f"Every problem / todos los problemas: {escape(str(rejects))}")
        raise typer.Exit(CANNOT_IMPORT) from exc
    except LealtadError as exc:
        raise cli._fail(exc) from exc
    except Exception as exc:
        # Every known problem of a file is a rejected row or a FileProblem; anything else is
        # a fault of ours or of the database, told in a line (the trace only when debugging).
        if settings.log_level == "debug":
            cli.err.print_exception()
        cli.err.print(
            f"[red]Import stopped / importación detenida:[/red] {escape(type(exc).__name__)}: "
            f"{escape(str(exc)[:500])}\nBatches committed before it stay loaded; the same "
            "command resumes after them / los lotes ya confirmados quedan cargados; el mismo "
            "comando continúa tras ellos"
        )
        raise typer.Exit(STOPPED) from exc
    finally:
        db.dispose()
    if done.resumed_from:
        cli.out.print(
            f"Resumed run {done.run_id} after row {done.resumed_from} / "
            f"reanudada tras la fila {done.resumed_from}"
        )
    cli.out.print(
        f"run {done.run_id}: {done.rows} rows / filas, {done.loaded} loaded / cargadas, "
        f"{done.already} already there / ya estaban, {done.rejected} rejected / rechazadas"
    )
    if done.rejected:
        cli.out.print(f"Rejected rows / filas rechazadas: {escape(str(done.rejects_path))}")
        raise typer.Exit(WITH_REJECTS)
