"""`lealtad analytics model` (the fitted value models with their units) and `lealtad analytics
backtest` (fit on the past up to a date, predicted against actual repeat visits after it)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer

from lealtad.analytics import cli, zone_store
from lealtad.analytics.cli import FormatChoice, _businesses, _open, _usage, analytics_app

Slug = Annotated[str, typer.Option("--business", help="the business slug")]


class ModelFormat(StrEnum):
    text = "text"
    json = "json"


@analytics_app.command("model")
def model_command(
    business: Slug, format: Annotated[ModelFormat, typer.Option()] = ModelFormat.text
) -> None:
    """Value models' parameters with units / parámetros de los modelos de valor."""
    from lealtad.analytics import models, refresh
    from lealtad.kit.money import minor_exponent

    db = _open()
    with db.read() as conn:
        row = _businesses(conn, business)[0]
        found = refresh.snapshot(conn, row.id, "clv")
    described = models.described(
        None if found is None else found[1], row.currency, minor_exponent(row.currency)
    )
    if format is ModelFormat.json:
        typer.echo(json.dumps(described, ensure_ascii=False, indent=2))
    else:
        typer.echo(models.described_text(described, row.slug))


@analytics_app.command("backtest")
def backtest_command(
    business: Slug,
    calibration_end: Annotated[
        datetime,
        typer.Option(formats=["%Y-%m-%d"], help="last local day the models are fitted on"),
    ],
    holdout_end: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="last local day compared; yesterday if omitted"),
    ] = None,
    format: Annotated[FormatChoice, typer.Option()] = FormatChoice.text,
) -> None:
    """Back-test the value models / prueba retrospectiva de los modelos de valor.

    Fits them on the history up to --calibration-end and compares predicted and actual repeat
    visits after it, week by week; the latest is drawn on /admin/customers."""
    from lealtad.analytics import backtest, clv
    from lealtad.analytics.csv_out import csv_text
    from lealtad.cli import err
    from lealtad.errors import Invalid
    from lealtad.kit.money import minor_exponent

    db = _open()
    now = cli._now()  # through the module: tests set the clock there
    try:
        with db.transaction() as conn:
            row = _businesses(conn, business)[0]
            last = (
                holdout_end.date()
                if holdout_end
                else zone_store.local_day(conn, row.id, now) - timedelta(days=1)
            )
            found = backtest.run(conn, row.id, calibration_end.date(), last)
            backtest.store(conn, row.id, found, now)
    except Invalid as exc:
        raise _usage(f"{exc.message} / fechas no válidas") from exc
    except clv.NotEnoughHistory as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if format is FormatChoice.csv:
        typer.echo(csv_text(backtest.COLUMNS, found.rows()), nl=False)
    elif format is FormatChoice.json:
        typer.echo(json.dumps(_json(found, row.currency), ensure_ascii=False, indent=2))
    else:
        exponent = minor_exponent(row.currency)
        typer.echo(_text(found, row.slug, row.currency, exponent))


def _json(found: Any, currency: str) -> dict[str, Any]:
    """The back-test as JSON, its models described as `lealtad analytics model` describes
    them (gamma named as in the papers, each fit's log-likelihood and customers beside)."""
    from lealtad.analytics import models
    from lealtad.kit.money import minor_exponent

    payload: dict[str, Any] = found.as_json()
    described = models.described(payload | {"fitted": True}, currency, minor_exponent(currency))
    payload.pop("fit", None)
    return payload | {k: described[k] for k in ("currency", "bgnbd", "gamma_gamma", "units")}


def _text(found: Any, slug: str, currency: str, exponent: int) -> str:
    from lealtad.analytics import models

    holdout = found.holdout
    lines = [
        f"{slug}: back-test / prueba retrospectiva; calibration to / calibración hasta "
        f"{found.calibration_end}, holdout / validación {_day(found.calibration_end, 1)} - "
        f"{found.holdout_end} ({len(holdout)} weeks / semanas); "
        f"{found.customers} customers / clientes",
    ]
    fitted = found.as_json()
    described = models.described(fitted | {"fitted": True}, currency, exponent)
    lines += models.described_text(described, slug).splitlines()[1:]
    lines.append("")
    lines.append(
        f"{'week':>5} {'start':>10} {'end':>10} {'predicted':>10} {'actual':>7} "
        f"{'cum.pred.':>10} {'cum.act.':>9} {'forecast':>9} {'cum.fcst':>9}"
    )
    # Cumulated from the start of the holdout here (the CSV and JSON cumulate from the first
    # calibration week, as the tracking chart does).
    predicted = actual = 0.0
    for w in holdout:
        predicted += w.predicted
        actual += w.actual
        lines.append(
            f"{w.week:>5} {w.start.isoformat():>10} {w.end.isoformat():>10} "
            f"{w.predicted:>10.1f} {w.actual:>7} {predicted:>10.1f} "
            f"{actual:>9.0f} {w.forecast or 0:>9.1f} {w.cumulative_forecast or 0:>9.1f}"
        )
    lines.append("")
    lines.append(
        f"Holdout repeat purchases / compras repetidas en validación: predicted / previstas "
        f"{found.predicted_total:.1f} (tracking), forecast / pronóstico "
        f"{found.forecast_total:.1f}, actual / reales {found.actual_total}"
    )
    if found.predicted_spend is not None:
        lines.append(
            f"Holdout repeat spend / gasto repetido ({currency} minor units): forecast / "
            f"pronóstico {found.predicted_spend}, actual / real {found.actual_spend}"
        )
    return "\n".join(lines)


def _day(day: date, days: int) -> str:
    return (day + timedelta(days=days)).isoformat()
