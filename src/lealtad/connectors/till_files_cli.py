"""`lealtad connectors watch`: the CSV drop's watched folder. Each file a till exports into the
folder is imported through the importer (as `lealtad import purchases` and the console's upload
do) and moved to done/ (every row in or already there) or failed/ (rows rejected, with the
rejects file beside it; or the file refused whole, with an .error.txt), and logged for the
console's Till files page. Running it again, or over the same file twice, loads nothing twice.

Exit codes of `--once`, as `lealtad import`'s: 0 every file in (or nothing to do), 3 some file
went to failed/, 2 the command cannot run (no such business, location or folder), 1 an error
stopped a file (the database gone): it stays in the folder and the next run takes it again."""

from __future__ import annotations

import fcntl
import signal
import time
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.markup import escape

from lealtad.connectors import drop_folder
from lealtad.errors import LealtadError
from lealtad.kit.clock import SystemClock
from lealtad.kit.ids import MAX_ID

connectors_app = typer.Typer(
    help="Connectors for tills and shops / conectores de cajas y tiendas", no_args_is_help=True
)
WITH_FAILED, CANNOT_RUN, STOPPED = 3, 2, 1


@connectors_app.command("watch")
def watch(
    business: Annotated[str, typer.Option(help="the business slug")],
    folder: Annotated[
        Path, typer.Option(help="the folder the till exports its files into / carpeta vigilada")
    ],
    once: Annotated[
        bool, typer.Option("--once", help="import what is there and exit (for cron)")
    ] = False,
    location: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="location id for rows that name none")
    ] = None,
    settle: Annotated[
        float,
        typer.Option(min=0, max=3600, help="seconds a file must stay unchanged before it is taken"),
    ] = 5.0,
    every: Annotated[
        float, typer.Option(min=0.1, max=3600, help="seconds between looks (without --once)")
    ] = 10.0,
) -> None:
    """Imports each file a till drops in FOLDER, once, and files it under done/ or failed/ /
    importa cada fichero que la caja deja en la carpeta y lo mueve a done/ o failed/."""
    from lealtad import cli
    from lealtad.tenancy import audit_context
    from lealtad.tenancy import service as tenancy
    from lealtad.tenancy import store as tenancy_store

    if not folder.is_dir():
        cli.err.print(f"[red]No such folder / no existe la carpeta:[/red] {escape(str(folder))}")
        raise typer.Exit(CANNOT_RUN)
    settings = cli._settings()
    db = cli._migrated_database(settings)
    try:
        with db.read() as conn:
            row = tenancy_store.business_by_slug(conn, business)
            if row is None:
                cli.err.print(f"[red]No business / no existe el negocio:[/red] {escape(business)}")
                raise typer.Exit(CANNOT_RUN)
            if location is not None:
                try:
                    tenancy.get_location(conn, row.id, location)
                except LealtadError as exc:
                    cli.err.print(f"[red]{escape(exc.message)}[/red]")
                    raise typer.Exit(CANNOT_RUN) from exc
        audit_context.use_cli()
        with _FolderLock(folder, once) as held:
            if not held:
                return
            watcher = _Watcher(db, row.id, folder, location, settings.effective_secret_key, cli)
            code = watcher.once(settle) if once else watcher.poll(settle, every)
    finally:
        db.dispose()
    if code:
        raise typer.Exit(code)


class _FolderLock:
    """One watcher per folder: a second one (cron starting while the last run still imports)
    leaves the folder alone. The lock dies with the process."""

    def __init__(self, folder: Path, once: bool) -> None:
        self.path = folder / drop_folder.LOCK
        self.once = once
        self.file: IO[bytes] | None = None

    def __enter__(self) -> bool:
        from lealtad import cli

        try:
            self.file = self.path.open("ab")
        except OSError as exc:
            cli.err.print(
                f"[red]Cannot write in the folder / no se puede escribir en la carpeta:[/red] "
                f"{escape(str(exc))}"
            )
            raise typer.Exit(CANNOT_RUN) from exc
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            cli.err.print(
                "Another watcher is working on this folder; nothing done / otro proceso "
                "vigila esta carpeta; no se ha hecho nada"
            )
            if not self.once:
                raise typer.Exit(CANNOT_RUN) from None
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


class _Watcher:
    def __init__(
        self,
        db: Any,
        business_id: int,
        folder: Path,
        location_id: int | None,
        secret_key: str,
        cli: Any,
    ) -> None:
        from lealtad.tenancy import audit_context

        self.db, self.business_id, self.folder = db, business_id, folder
        self.location_id, self.secret_key, self.cli = location_id, secret_key, cli
        self.actor = audit_context.cli_actor()
        self.clock = SystemClock()
        self.stop = False

    def once(self, settle: float) -> int:
        first = drop_folder.look(self.folder)
        if not first:
            self.cli.out.print("Nothing to import / nada que importar")
            return 0
        if settle:
            time.sleep(settle)
        second = drop_folder.look(self.folder)
        names = drop_folder.ready(first, second, settle)
        for name in sorted(set(second) - set(names)):
            self.cli.out.print(
                f"{escape(name)}: still being written, left for the next run / aún se está "
                "escribiendo, queda para la próxima vez"
            )
        codes = {self.take(name) for name in names}
        # A stopped file says more than a failed one: it is still waiting in the folder.
        return STOPPED if STOPPED in codes else max(codes, default=0)

    def poll(self, settle: float, every: float) -> int:
        def stop(_signum: int, _frame: object) -> None:
            self.stop = True

        signal.signal(signal.SIGTERM, stop)
        self.cli.out.print(
            f"Watching / vigilando {escape(str(self.folder))} (Ctrl+C to stop / para parar)"
        )
        before = drop_folder.look(self.folder)
        try:
            while not self.stop:
                time.sleep(every)
                after = drop_folder.look(self.folder)
                for name in drop_folder.ready(before, after, settle):
                    if self.stop:
                        break
                    self.take(name)
                before = drop_folder.look(self.folder)
        except KeyboardInterrupt:
            pass
        self.cli.out.print("Stopped / detenido")
        return 0

    def take(self, name: str) -> int:
        """Imports one file and files it away; the exit code it stands for."""
        # Imported here: the importer pulls in the analytics stack, which `--help` need not.
        from lealtad.connectors import till_files

        path = self.folder / name
        try:
            done = till_files.import_file(
                self.db,
                self.business_id,
                path,
                source=till_files.FOLDER,
                file_name=name,
                actor=self.actor,
                secret_key=self.secret_key,
                clock=self.clock,
                location_id=self.location_id,
            )
        except till_files.TillFileRefused as exc:
            moved = drop_folder.file_away(
                path, drop_folder.FAILED, self.clock.now(), error=exc.message
            )
            self.cli.err.print(
                f"{escape(name)}: cannot import / no se puede importar: {escape(exc.message)} "
                f"→ {escape(str(moved.relative_to(self.folder)))}"
            )
            return WITH_FAILED
        except Exception as exc:
            # The database gone, the disk full: the file stays where it is, and the next run
            # resumes its import after the batches already committed.
            self.cli.err.print(
                f"[red]{escape(name)}: import stopped / importación detenida:[/red] "
                f"{escape(type(exc).__name__)}: {escape(str(exc)[:300])}"
            )
            return STOPPED
        outcome = drop_folder.FAILED if done.rejected else drop_folder.DONE
        moved = drop_folder.file_away(path, outcome, self.clock.now())
        self.cli.out.print(
            f"{escape(name)}: run {done.run_id}: {done.rows} rows / filas, {done.loaded} loaded / "
            f"cargadas, {done.already} already there / ya estaban, {done.rejected} rejected / "
            f"rechazadas → {escape(str(moved.relative_to(self.folder)))}"
        )
        return WITH_FAILED if done.rejected else 0
