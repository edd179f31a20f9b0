"""`lealtad backup FILE` and `lealtad restore FILE`. SQLite is copied page by page through its
online backup API, which is consistent while the server writes; PostgreSQL goes through
pg_dump -Fc and pg_restore --clean --if-exists. A restore checks what it restored: the schema
at the current revision and a ledger that verifies."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from lealtad.db.engine import Database

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that could not be done, with the reason to show."""


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def pg_binary(name: str) -> str:
    """The newest installed pg_dump / pg_restore: a dump needs a client at least as new as the
    server, and Debian keeps them under /usr/lib/postgresql/<version>/bin, off the PATH."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise BackupError(
        f"{name} not found on the PATH or under /usr/lib/postgresql/*/bin: install the "
        "PostgreSQL client (Debian: apt-get install postgresql-client)"
    )


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, which goes in the environment, not on a command line
    that `ps` shows."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def backup(database_url: str, target: Path) -> None:
    """Writes the whole database to `target` (through a partial file, renamed when complete)."""
    url = make_url(database_url)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(sqlite_path(url), partial)
        elif url.get_backend_name() == "postgresql":
            conninfo, env = _libpq(url)
            _run([pg_binary("pg_dump"), "-Fc", "--no-owner", "-f", str(partial), conninfo], env)
        else:
            raise BackupError(f"no backup for {url.get_backend_name()} databases")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the copy failed SQLite's integrity check")
    finally:
        dst.close()
        src.close()


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def holds_data(db: Database) -> bool:
    """Whether the database has anything a restore would overwrite."""
    with db.engine.connect() as conn:
        return bool(inspect(conn).get_table_names())


def restore(database_url: str, source: Path) -> None:
    """Replaces the database's content with the backup's."""
    url = make_url(database_url)
    head = source.read_bytes()[:16] if source.is_file() else b""
    if url.get_backend_name() == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup")
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        # Through the backup API into the live file: other connections wait on its lock and
        # then see the restored pages; the file (and its WAL) is never swapped underneath them.
        dst = sqlite3.connect(target, timeout=30)
        try:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} fails SQLite's integrity check")
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    elif url.get_backend_name() == "postgresql":
        if not head.startswith(PG_MAGIC):
            raise BackupError(f"{source} is not a pg_dump custom-format backup")
        conninfo, env = _libpq(url)
        command = [pg_binary("pg_restore"), "--clean", "--if-exists", "--no-owner"]
        _run(
            [*command, "--single-transaction", "--exit-on-error", "-d", conninfo, str(source)], env
        )
    else:
        raise BackupError(f"no restore for {url.get_backend_name()} databases")


def check(db: Database) -> list[str]:
    """Problems with a restored database: an old schema, or a ledger that does not verify."""
    from lealtad.db.migrate import current_revision, head_revision
    from lealtad.ledger.verify import verify

    with db.read() as conn:
        revision = current_revision(conn)
        if revision != head_revision():
            return [
                f"the schema is at revision {revision}, not {head_revision()}: run `lealtad migrate`"
            ]
        return [str(problem) for problem in verify(conn)]


def backup_command(
    file: Annotated[Path, typer.Argument(help="where to write the backup", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Back up the database, safe while the server runs / copia de seguridad en caliente."""
    from lealtad import cli

    settings = cli._settings()
    if file.exists() and not force:
        cli.err.print(f"[red]{file} exists; add --force to overwrite / ya existe[/red]")
        raise typer.Exit(2)
    try:
        backup(settings.effective_database_url, file)
    except (BackupError, OSError, sqlite3.Error) as exc:
        cli.err.print(f"[red]Backup failed / copia fallida:[/red] {exc}")
        raise typer.Exit(1) from exc
    cli.out.print(f"Backed up to / copia en: {file} ({file.stat().st_size} bytes)")


def restore_command(
    file: Annotated[
        Path, typer.Argument(help="a file made by `lealtad backup`", exists=True, dir_okay=False)
    ],
    force: Annotated[
        bool, typer.Option("--force", help="replace a database that holds data")
    ] = False,
) -> None:
    """Restore a backup and check it / restaura una copia y la comprueba."""
    from lealtad import cli

    settings = cli._settings()
    db = cli._database(settings)
    try:
        if holds_data(db) and not force:
            where = db.engine.url.render_as_string(hide_password=True)
            asked = sys.stdin.isatty() and typer.confirm(
                f"Replace everything in {where}? / ¿reemplazar todo?"
            )
            if not asked:
                cli.err.print("[red]Nothing restored; --force replaces / nada restaurado[/red]")
                raise typer.Exit(2)
        db.dispose()
        restore(settings.effective_database_url, file)
        problems = check(db)
    except (BackupError, OSError, sqlite3.Error, SQLAlchemyError) as exc:
        cli.err.print(f"[red]Restore failed / restauración fallida:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    if problems:
        for problem in problems:
            cli.err.print(f"[red]{problem}[/red]")
        raise typer.Exit(1)
    cli.out.print(f"Restored from / restaurado desde: {file}; schema current, ledger verified")


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
