"""`lealtad program set|versions`: a business's program from the shell, for whoever brings a
business's history in (set the program from the start of the history, then import; D65) or keeps
programs in files. The same service, validation and change log as the console and the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

program_app = typer.Typer(help="The loyalty program / el programa", no_args_is_help=True)
BusinessOpt = Annotated[str, typer.Option("--business", help="the business slug")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    from lealtad.cli import err

    err.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def _when(value: str, timezone: str) -> datetime:
    """An ISO date (its start in the business's time zone) or date and time (UTC if no zone)."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time(), ZoneInfo(timezone))
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _fail(
            f"--effective-from: not an ISO date / no es una fecha ISO: {value!r}", 2
        ) from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _definition(file: Path | None, template: str | None) -> Any:
    from pydantic import ValidationError

    from lealtad.errors import LealtadError
    from lealtad.rules.definition import ProgramDefinition
    from lealtad.rules.templates import get_template

    if (file is None) == (template is None):
        raise _fail("Give a FILE or --template / indica un fichero o --template", 2)
    if template is not None:
        try:
            return get_template(template).build()
        except LealtadError as exc:
            raise _fail(f"{exc.message} / plantilla desconocida", 2) from exc
    assert file is not None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        # The shape GET /api/v1/program answers is accepted as it is.
        if isinstance(data, dict) and isinstance(data.get("definition"), dict):
            data = data["definition"]
        return ProgramDefinition.model_validate(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(f"{file}: cannot read a JSON program / no se puede leer: {exc}", 2) from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise _fail(f"{file}: not a valid program / programa no válido: {problems}", 2) from exc


@program_app.command("set")
def set_program(
    business: BusinessOpt,
    reason: Annotated[str, typer.Option(help="why, for the change log / motivo")],
    file: Annotated[
        Path | None,
        typer.Argument(help="the program as JSON", exists=True, dir_okay=False, readable=True),
    ] = None,
    template: Annotated[str | None, typer.Option(help="a built-in template instead")] = None,
    effective_from: Annotated[
        str | None,
        typer.Option(
            help="ISO date or date-time; in the past only before anything earned / fecha de inicio"
        ),
    ] = None,
) -> None:
    """Make a new program version / crea una versión del programa. Dated in the past, it brings
    a business's history in and supersedes the versions dated after it."""
    from lealtad.cli import _migrated_database, _settings, out
    from lealtad.errors import LealtadError
    from lealtad.kit.clock import SystemClock
    from lealtad.rules import service, store
    from lealtad.tenancy import store as tenancy_store

    definition = _definition(file, template)
    db = _migrated_database(_settings())
    now = SystemClock().now()
    with db.transaction() as conn:
        row = tenancy_store.business_by_slug(conn, business)
        if row is None:
            raise _fail(f"No business / no existe el negocio: {business}")
        start = _when(effective_from, row.timezone) if effective_from else None
        try:
            number, changes = service.change(
                conn,
                row.id,
                definition,
                author="cli",
                reason=reason[:500],
                now=now,
                effective_from=start,
            )
        except LealtadError as exc:
            raise _fail(f"{exc.code}: {exc.message}") from exc
        made = store.version(conn, row.id, number)
        gone = [v.version for v in store.versions(conn, row.id) if v.superseded_by == number]
    since = made.effective_from.replace(tzinfo=UTC).isoformat()
    out.print(
        f"Version / versión {number} in force from / en vigor desde {since}; "
        f"{len(changes)} changes / cambios"
    )
    if gone:
        listed = ", ".join(str(v) for v in gone)
        out.print(f"Superseded / sustituidas: {listed}")


@program_app.command("versions")
def versions(business: BusinessOpt) -> None:
    """The change log, newest first / el historial de versiones."""
    from lealtad.cli import _migrated_database, _settings, out
    from lealtad.rules import store
    from lealtad.tenancy import store as tenancy_store

    db = _migrated_database(_settings())
    with db.read() as conn:
        row = tenancy_store.business_by_slug(conn, business)
        if row is None:
            raise _fail(f"No business / no existe el negocio: {business}")
        found = store.versions(conn, row.id)
    for v in found:
        since = v.effective_from.replace(tzinfo=UTC).isoformat()
        note = f"  superseded by / sustituida por {v.superseded_by}" if v.superseded_by else ""
        out.print(f"{v.version}\t{since}\t{v.author}\t{v.reason}{note}")
