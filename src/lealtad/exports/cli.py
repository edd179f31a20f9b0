"""`lealtad export members|purchases|ledger --business SLUG [--out FILE] [--since YYYY-MM-DD]`:
one business's data as CSV (UTF-8, header row), to stdout or a file, for an operator moving to
another system or opening it in a spreadsheet. Exit 1 for an unknown business, 2 for bad input."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

export_app = typer.Typer(
    help="Export members, purchases or the ledger as CSV / exporta socios, compras o el libro",
    no_args_is_help=True,
)

BusinessOpt = Annotated[str, typer.Option(help="the business slug / el negocio")]
OutOpt = Annotated[
    Path | None, typer.Option(help="file to write; stdout when left out", dir_okay=False)
]
SinceOpt = Annotated[
    str | None, typer.Option(help="only from this day on (YYYY-MM-DD, business time)")
]


@export_app.command("members")
def members(business: BusinessOpt, out: OutOpt = None, since: SinceOpt = None) -> None:
    """Members with decrypted contact data, tier and balances / socios con saldos."""
    _export("members", business, out, since)


@export_app.command("purchases")
def purchases(business: BusinessOpt, out: OutOpt = None, since: SinceOpt = None) -> None:
    """Purchases in minor units / compras en céntimos."""
    _export("purchases", business, out, since)


@export_app.command("ledger")
def ledger(business: BusinessOpt, out: OutOpt = None, since: SinceOpt = None) -> None:
    """Journal entries with their postings / asientos con sus apuntes."""
    _export("ledger", business, out, since)


def _day(since: str | None) -> date | None:
    from lealtad import cli

    if since is None:
        return None
    try:
        return date.fromisoformat(since)
    except ValueError:
        cli.err.print(
            f"[red]--since must be a date YYYY-MM-DD / --since debe ser una fecha AAAA-MM-DD:"
            f"[/red] {since}"
        )
        raise typer.Exit(2) from None


def _export(kind: str, business: str, out: Path | None, since: str | None) -> None:
    # Imported here, as `lealtad import` does: `lealtad --help` need not load the web stack.
    from lealtad import cli
    from lealtad.exports import service
    from lealtad.kit.csvsafe import safe_cell
    from lealtad.tenancy import store as tenancy_store

    day = _day(since)
    db = cli._migrated_database(cli._settings())
    with db.read() as conn:
        row = tenancy_store.business_by_slug(conn, business)
    if row is None:
        cli.err.print(f"[red]No business / no existe el negocio:[/red] {business}")
        raise typer.Exit(1)
    rows = service.ROWS[kind](db, row.id, service.since_utc(day, row.timezone))
    if out is None:
        _write(sys.stdout, rows, safe_cell)
        return
    with out.open("w", encoding="utf-8", newline="") as f:
        count = _write(f, rows, safe_cell)
    cli.err.print(f"{count} rows / filas → {out}")


def _write(stream: TextIO, rows: Iterable[list[Any]], cell: Callable[[Any], str]) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    count = -1  # the header is not a row of data
    for values in rows:
        writer.writerow([cell(v) for v in values])
        count += 1
    return count
