"""`lealtad analytics rebuild|refresh` and `lealtad report`, registered by lealtad.cli. The
heavy imports (the database, numpy) wait inside each command so `lealtad --help` stays quick."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lealtad.db.engine import Database

analytics_app = typer.Typer(
    help="Analytics rollups and scores / rollups y puntuaciones de analítica", no_args_is_help=True
)
Business = Annotated[
    str | None, typer.Option("--business", help="slug of one business; all if omitted")
]
# `--as-of` of the commands that run "now" (here and in lealtad.cli; kit/as_of.py says what a
# date means): the history after it is not used.
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="as of this date (its end in the business's time zone) or ISO date and time; "
        "not in the future / como si fuera esa fecha",
    ),
]


class PeriodChoice(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    custom = "custom"


class GrainChoice(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class FormatChoice(StrEnum):
    text = "text"
    csv = "csv"
    json = "json"


class LangChoice(StrEnum):
    es = "es"
    en = "en"


def _now() -> datetime:
    from lealtad.kit.clock import SystemClock

    return SystemClock().now()


def _usage(message: str) -> typer.Exit:
    from lealtad.cli import err

    err.print(f"[red]{message}[/red]")
    return typer.Exit(2)


def _businesses(conn: Connection, slug: str | None) -> list[Any]:
    """The business named, or every business; an unknown slug ends the command (exit 1)."""
    from lealtad.cli import err
    from lealtad.tenancy import store as tenancy_store

    if slug is None:
        return list(tenancy_store.all_businesses(conn))
    row = tenancy_store.business_by_slug(conn, slug)
    if row is None:
        err.print(f"[red]No business / no existe el negocio:[/red] {slug}")
        raise typer.Exit(1)
    return [row]


def _open() -> Database:
    from lealtad.cli import _migrated_database, _settings

    return _migrated_database(_settings())


@analytics_app.command("rebuild")
def rebuild_command(business: Business = None) -> None:
    """Recompute the rollups from the purchases, members and journal / recalcula los rollups."""
    from zoneinfo import ZoneInfo

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lealtad.analytics import store as analytics_store
    from lealtad.analytics.rebuild import rebuild
    from lealtad.cli import out
    from lealtad.comms.outbox import HISTORIC
    from lealtad.tiers import service as tier_service

    db = _open()
    with db.read() as conn:
        found = _businesses(conn, business)
    for row in found:
        with db.transaction() as conn:
            total = _events_of(conn, row.id)
            with Progress(
                TextColumn(f"{row.slug}"), BarColumn(), MofNCompleteColumn(), console=out
            ) as bar:
                task = bar.add_task("rebuild", total=total)
                replayed = rebuild(conn, row.id, partial(bar.advance, task))
            # Tiers too, in date order from each member's opening status (D75); a correction of
            # history, so it announces nothing, as an import.
            tiers_changed = tier_service.rebuild(
                conn.execution_options(**{HISTORIC: True}), row.id, ZoneInfo(row.timezone), _now()
            )
            rows, figures = analytics_store.rollup_sizes(conn, row.id)
        out.print(
            f"{row.slug}: {replayed} events replayed / eventos, {rows} counter rows / filas de "
            f"contadores, {figures} members / socios, {tiers_changed} tiers changed / niveles "
            "cambiados"
        )


def _events_of(conn: Connection, business_id: int) -> int:
    """How many events a rebuild will replay, for the progress bar."""
    from lealtad.ledger import export_store as ledger_export
    from lealtad.members import export_store as member_export
    from lealtad.purchases import export_store as purchase_export
    from lealtad.rewards import export_store as reward_export

    return (
        member_export.member_count(conn, business_id)
        + purchase_export.purchase_and_refund_count(conn, business_id)
        + ledger_export.entry_count(conn, business_id)
        + reward_export.voucher_count(conn, business_id)
    )


@analytics_app.command("refresh")
def refresh_command(business: Business = None, as_of: AsOfOpt = None) -> None:
    """Score every member: RFM segment and predicted value, from the history up to --as-of if
    given / puntúa a cada socio."""
    from lealtad.analytics.refresh import refresh
    from lealtad.cli import as_of_instants, out

    db = _open()
    with db.read() as conn:
        found = _businesses(conn, business)
        instants = as_of_instants(as_of, found, _now())
    for row in found:
        with db.transaction() as conn:
            done = refresh(conn, row.id, instants[row.id], as_of=as_of is not None)
        model = "model fitted / modelo ajustado" if done.model_fitted else done.model_reason
        segments = ", ".join(f"{k} {v}" for k, v in done.segments.items() if v) or "-"
        out.print(
            f"{row.slug}: {done.members_scored} members scored / socios puntuados, "
            f"{done.members_unscored} without purchases / sin compras; {segments}; {model}"
        )


def report(
    business: Annotated[str, typer.Option("--business", help="the business slug")],
    period: Annotated[
        PeriodChoice, typer.Option(help="the last complete day, ISO week or month, or custom")
    ] = PeriodChoice.day,
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="first day (custom)")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="last day (custom)")
    ] = None,
    grain: Annotated[GrainChoice, typer.Option(help="rows of the csv and json series")] = (
        GrainChoice.day
    ),
    format: Annotated[FormatChoice, typer.Option("--format")] = FormatChoice.text,
    location: Annotated[int | None, typer.Option(min=1, help="one location's figures")] = None,
    lang: Annotated[
        LangChoice | None, typer.Option(help="es or en; the business's language if omitted")
    ] = None,
    send: Annotated[
        bool, typer.Option("--send", help="also e-mail it to the period's recipients")
    ] = False,
    as_of: AsOfOpt = None,
) -> None:
    """Summary of a period: text, the KPI series as CSV, or JSON; the last complete period as
    of --as-of if given / resumen de un periodo."""
    from lealtad.analytics import reports
    from lealtad.cli import _fail, as_of_instants
    from lealtad.errors import Invalid, LealtadError

    first, last = _period_days(period, start, end, send)
    db = _open()
    try:
        with db.read() as conn:
            row = _businesses(conn, business)[0]
            now = as_of_instants(as_of, [row], _now())[row.id]
            if (
                last is not None
                and as_of is not None
                and last > reports.local_today(conn, row.id, now)
            ):
                raise _usage("--end is after --as-of / --end es posterior a --as-of")
            if first is None or last is None:
                first, last = reports.latest_complete(
                    period.value, reports.local_today(conn, row.id, now)
                )
            summary = reports.build(
                conn, row.id, period.value, first, last, now, location_id=location
            )
            printed = _printed(conn, summary, format, grain, lang or row.locale, now)
        addresses = _recipients(db, row.id, period.value) if send else []
    except Invalid as exc:
        raise _usage(f"Invalid period / periodo no válido: {exc.message}") from exc
    except LealtadError as exc:
        raise _fail(exc) from exc
    # Plain stdout, not rich: CSV and JSON go to other programs as they are.
    typer.echo(printed, nl=format is not FormatChoice.csv)
    if send:
        _send(db, summary, addresses)


def _period_days(
    period: PeriodChoice, start: datetime | None, end: datetime | None, send: bool
) -> tuple[date | None, date | None]:
    if period is PeriodChoice.custom:
        if start is None or end is None:
            raise _usage("--period custom needs --start and --end / necesita --start y --end")
        if end < start:
            raise _usage("--end is before --start / --end es anterior a --start")
        if send:
            raise _usage(
                "--send goes with --period day, week or month / --send va con day, week o month"
            )
        return start.date(), end.date()
    if start is not None or end is not None:
        raise _usage("--start and --end go with --period custom / van con --period custom")
    return None, None


def _printed(
    conn: Connection,
    summary: Any,
    format: FormatChoice,
    grain: GrainChoice,
    lang: str,
    now: datetime,
) -> str:
    from lealtad.analytics import report_series, report_text
    from lealtad.analytics.csv_out import csv_text
    from lealtad.analytics.periods import Scope

    if format is FormatChoice.text:
        return report_text.text(summary, lang)
    scope = Scope(summary.business_id, summary.start, summary.end, grain.value, summary.location_id)
    rows = report_series.rows(conn, scope, now)
    if format is FormatChoice.csv:
        return csv_text([(c, c) for c in report_series.COLUMNS], rows)
    series = [{k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()} for r in rows]
    return json.dumps(
        summary.as_json() | {"grain": grain.value, "series": series}, ensure_ascii=False, indent=2
    )


def _recipients(db: Database, business_id: int, period: str) -> list[str]:
    """Who a sent summary goes to; no one, or no mail server, ends the command (exit 1)."""
    from lealtad.analytics import preferences, reports
    from lealtad.cli import _settings, err

    frequencies: dict[str, str] = {v: k for k, v in reports.PERIOD_OF.items()}
    frequency = frequencies[period]
    with db.read() as conn:
        addresses = preferences.get(conn, business_id).reports.get(frequency) or []
    if not addresses:
        err.print(
            f"[red]No recipients for {frequency} reports; set them at /admin/reports / "
            "no hay destinatarios; elígelos en /admin/reports[/red]"
        )
        raise typer.Exit(1)
    if not _settings().smtp_host:
        err.print(
            "[red]E-mail is not set up (LEALTAD_SMTP_HOST) / el correo no está configurado[/red]"
        )
        raise typer.Exit(1)
    return list(addresses)


def _send(db: Database, summary: Any, addresses: list[str]) -> None:
    from lealtad.analytics import reports
    from lealtad.cli import _settings, err

    with db.read() as conn:
        sent, failed = reports.send_summary(conn, _settings(), summary, addresses)
    err.print(f"Sent / enviado: {sent} of / de {sent + failed}")
    if failed:
        raise typer.Exit(1)


# The value models' commands (`model`, `backtest`) live beside, on the same Typer app.
from lealtad.analytics import models_cli  # noqa: E402, F401
