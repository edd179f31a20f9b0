"""The `lealtad` command: demo, serve, migrate, business and API key set-up, ledger checks."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from lealtad.analytics.cli import AsOfOpt, analytics_app, report
from lealtad.backup import register as register_backup
from lealtad.config import Settings, load_settings
from lealtad.connectors.till_files_cli import connectors_app
from lealtad.db.engine import Database
from lealtad.errors import LealtadError
from lealtad.exports.cli import export_app
from lealtad.imports.cli import import_app
from lealtad.kit.clock import SystemClock
from lealtad.rules.cli import program_app
from lealtad.security.keys_cli import keys_app
from lealtad.tenancy import audit_cli
from lealtad.tenancy.model import Role
from lealtad.wiring import wire

app = typer.Typer(
    help="Lealtad loyalty platform / plataforma de fidelización", no_args_is_help=True
)
ledger_app = typer.Typer(
    help="Ledger checks and jobs / comprobaciones del libro mayor", no_args_is_help=True
)
business_app = typer.Typer(help="Businesses / negocios", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys / claves de API", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(business_app, name="business")
app.add_typer(apikey_app, name="apikey")
jobs_app = typer.Typer(help="Scheduled jobs / tareas programadas", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(analytics_app, name="analytics")
app.add_typer(import_app, name="import")
app.add_typer(connectors_app, name="connectors")
app.add_typer(program_app, name="program")
app.add_typer(export_app, name="export")
register_backup(app)
app.add_typer(keys_app, name="keys")
app.command("report")(report)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # a pydantic ValidationError, shown as the settings problem it is
        err.print(f"[red]Invalid settings / configuración no válida:[/red] {exc}")
        raise typer.Exit(2) from exc


def _database(settings: Settings) -> Database:
    from lealtad.security.fields import keys_for_settings

    wire()  # every command reaches the database through here (lealtad/wiring.py)
    return Database(settings.effective_database_url, keys=keys_for_settings(settings))


def _migrated_database(settings: Settings) -> Database:
    """The database, refused with a clear message when its schema is not the current one."""
    from lealtad.db.migrate import current_revision, head_revision

    db = _database(settings)
    try:
        with db.read() as conn:
            current = current_revision(conn)
    except Exception as exc:  # unreachable server, bad URL: say so instead of a traceback
        err.print(
            f"[red]Cannot open the database / no se puede abrir la base de datos:[/red] {exc}"
        )
        raise typer.Exit(2) from exc
    if current != head_revision():
        err.print(
            "[red]The database schema is not current; run `lealtad migrate` first / "
            "la base de datos no está al día; ejecuta `lealtad migrate`[/red]"
        )
        raise typer.Exit(2)
    return db


def as_of_instants(text: str | None, found: list[Any], now: datetime) -> dict[int, datetime]:
    """Each business's "now": the clock, or the `--as-of` instant in its time zone (kit/as_of.py).
    A text that is no date, or one in the future for any of them, ends the command (exit 2)
    before anything runs."""
    from lealtad.kit import as_of

    if text is None:
        return {row.id: now for row in found}
    try:
        value = as_of.parse(text)
        return {row.id: as_of.instant(value, row.timezone, now) for row in found}
    except as_of.AsOfRefused as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc


def _fail(exc: LealtadError) -> typer.Exit:
    err.print(f"[red]Error ({exc.code}):[/red] {exc.message}")
    return typer.Exit(1)


@app.command()
def migrate() -> None:
    """Apply database migrations / aplica las migraciones."""
    from lealtad.db.migrate import upgrade

    settings = _settings()
    db = _database(settings)
    upgrade(db)
    out.print(
        f"Database at the latest schema / base de datos al día: {db.engine.url.render_as_string(hide_password=True)}"
    )


LanOption = Annotated[
    bool,
    typer.Option(
        "--lan",
        help="serve on this machine's local-network address, for phones on the same Wi-Fi "
        "(prints the sign-up link and its QR code)",
    ),
]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    lan: LanOption = False,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
    worker_healthcheck: Annotated[
        int,
        typer.Option(
            min=1,
            max=600,
            help="seconds a worker may take to answer the supervisor's health check before it is "
            "restarted (with --workers > 1; raise it on a loaded machine)",
        ),
    ] = 30,
    preload: Annotated[
        bool,
        typer.Option(
            "--preload",
            help="with --workers > 1: build the app once and fork the workers from it, so that "
            "they share its memory (docs/scaling.md); a worker that dies is forked again "
            "(--worker-healthcheck does not apply)",
        ),
    ] = False,
) -> None:
    """Serve the API / sirve la API."""
    from lealtad import serving

    settings = _settings()
    if lan and host:
        err.print("[red]--lan chooses the address itself: leave out --host / sin --host[/red]")
        raise typer.Exit(2)
    where = serving.address(settings, host, port, lan)
    if lan:
        serving.announce_lan(out, where, serving.join_links(settings, where.base), "server")
    serving.run(settings, where, workers, worker_healthcheck, preload)


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="start the server")
    ] = True,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    lan: LanOption = False,
    template: Annotated[
        str, typer.Option(help="program template (see `lealtad templates`)")
    ] = "coffee-stamps",
) -> None:
    """Create the demo coffee shop and serve it / crea la cafetería de demostración y la sirve."""
    from lealtad import serving
    from lealtad.db.migrate import upgrade
    from lealtad.demo import seed

    settings = _settings()
    db = _database(settings)
    out.print(f"Data directory / directorio de datos: {settings.data_dir}")
    upgrade(db)
    with out.status("Creating the demo business / creando el negocio de demostración..."):
        try:
            info = seed(db, SystemClock().now(), template=template)
        except LealtadError as exc:
            raise _fail(exc) from exc
    where = serving.address(settings, None, port, lan)
    base = where.base
    with db.read() as conn:
        from lealtad.members import store as member_store
        from lealtad.tenancy import store as tenancy_store

        first = member_store.search(conn, info.business_id, limit=1, after=None)[0]
        name = tenancy_store.business(conn, info.business_id).name
    out.print(
        f"\n[bold]Lealtad demo[/bold] ({'created / creado' if info.created else 'already there / ya existía'})"
    )
    out.print(f"  API:         {base}/api/v1   docs: {base}/docs")
    out.print(f"  Health:      {base}/healthz")
    out.print(f"  Sign-up:     {base}/join/{info.slug}")
    out.print(
        f"  Wallet:      {base}/w/{info.slug}   (member01@demo-cafe.example ...; without an SMTP "
        "server the login code is printed here / sin servidor SMTP el código sale aquí)"
    )
    out.print(f"  Counter:     {base}/counter   Admin: {base}/admin   (staff logins below)")
    out.print(f"  Program:     {template}")
    out.print(f"  API key:     {info.api_key}")
    out.print(f"  Staff logins / accesos del personal (business / negocio: {info.slug}):")
    for email, password, role in info.logins:
        out.print(f"    {role:8} {email}  {password}")
    out.print(
        f"  Try / prueba: curl -H 'Authorization: Bearer {info.api_key}' {base}/api/v1/members/{first.id}/balance"
    )
    db.dispose()
    if lan:
        serving.announce_lan(out, where, [(name, f"{base}/join/{info.slug}")], "demo")
    if serve_after:
        serving.run(settings, where, workers=1, worker_healthcheck=30)


@app.command()
def templates() -> None:
    """List the built-in program templates / lista las plantillas de programa."""
    from lealtad.rules.templates import TEMPLATES

    for t in TEMPLATES.values():
        out.print(f"[bold]{t.name}[/bold] ({t.currency})  {t.title_en} / {t.title_es}")
        out.print(f"    {t.description_en}")
        out.print(f"    {t.description_es}")


@app.command()
def worker(
    interval: Annotated[float, typer.Option(min=1, help="seconds between runs")] = 60.0,
    once: Annotated[bool, typer.Option(help="run the jobs once and exit")] = False,
) -> None:
    """Run the background jobs / ejecuta las tareas de fondo."""
    from lealtad.http import configure_logging
    from lealtad.worker import deliver, run_forever, run_once

    settings = _settings()
    configure_logging(settings.log_level)
    db = _migrated_database(settings)
    if once:
        out.print(f"delivered / entregado: {deliver(db, settings, SystemClock())}")
        for business_id, done in run_once(db, settings, SystemClock()).items():
            out.print(f"business {business_id}: {done}")
        return
    out.print(f"Worker running every {interval:g}s / trabajador en marcha; Ctrl+C to stop")
    run_forever(db, settings, interval=interval)


@jobs_app.command("run")
def jobs_run(as_of: AsOfOpt = None) -> None:
    """Birthdays, anniversaries, tier review, unlocking and expiry, analytics scores and
    reports; safe to run again. With --as-of, as of that date and without sending anything /
    cumpleaños, aniversarios, niveles, caducidad e informes."""
    from lealtad.connectors.service import prune_log
    from lealtad.events.jobs import run_daily
    from lealtad.tenancy import store as tenancy_store

    settings = _settings()
    db = _migrated_database(settings)
    with db.read() as conn:
        instants = as_of_instants(as_of, tenancy_store.all_businesses(conn), SystemClock().now())
    for business_id, now in instants.items():
        with db.transaction() as conn:
            done = run_daily(
                conn,
                business_id,
                now,
                settings.effective_secret_key,
                settings.public_base_url,
                settings=settings,
                as_of=as_of is not None,
            )
            if as_of is None:  # a clean-up of today's log, not of a past day's
                done.deliveries_pruned = prune_log(
                    conn, business_id, now, settings.connector_log_days
                )
        out.print(
            f"business {business_id}: birthdays {done.birthdays}, anniversaries "
            f"{done.anniversaries}, tier changes {done.tier_changes}, unlocked {done.unlocked}, "
            f"expired {done.expired}, reports sent {done.reports}, connector deliveries "
            f"pruned {done.deliveries_pruned}"
        )


@ledger_app.command("verify")
def ledger_verify(
    business: Annotated[
        str | None, typer.Option(help="slug of one business; all if omitted")
    ] = None,
) -> None:
    """Recompute every balance and lot from the journal / recalcula saldos y lotes desde el diario."""
    from lealtad.ledger.verify import verify
    from lealtad.tenancy import store as tenancy_store

    db = _migrated_database(_settings())
    with db.read() as conn:
        business_id = None
        if business is not None:
            row = tenancy_store.business_by_slug(conn, business)
            if row is None:
                err.print(f"[red]No business / no existe el negocio:[/red] {business}")
                raise typer.Exit(2)
            business_id = row.id
        problems = verify(conn, business_id)
    if problems:
        for problem in problems:
            err.print(f"[red]MISMATCH[/red] {problem}")
        err.print(f"{len(problems)} problem(s) / problema(s)")
        raise typer.Exit(1)
    out.print("Ledger verified: every balance and lot matches its postings / libro mayor correcto")


@ledger_app.command("settle")
def ledger_settle(as_of: AsOfOpt = None) -> None:
    """Unlock pending points and expire what is due (as of a date with --as-of) / desbloquea y
    caduca lo vencido."""
    from lealtad.ledger.maturity import settle
    from lealtad.tenancy import store as tenancy_store

    db = _migrated_database(_settings())
    with db.read() as conn:
        instants = as_of_instants(as_of, tenancy_store.all_businesses(conn), SystemClock().now())
    for business_id, now in instants.items():
        unlocked = expired = 0
        # Settled in rounds of lots, each committed; one line per business once all are done
        # (a line per round printed a business twice, the second with nothing).
        while True:
            with db.transaction() as conn:
                done = settle(conn, business_id, now)
            unlocked += done.unlocked_units
            expired += done.expired_units
            if not (done.unlocked_lots or done.expired_lots):
                break
        out.print(f"business {business_id}: unlocked {unlocked}, expired {expired}")


@business_app.command("create")
def business_create(
    name: Annotated[str, typer.Argument(help="the business's name")],
    owner_email: Annotated[str, typer.Option(help="the owner's login e-mail")],
    owner_password: Annotated[
        str, typer.Option(help="at least 10 characters", prompt=True, hide_input=True)
    ],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "EUR",
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "Europe/Madrid",
    locale: Annotated[str, typer.Option(help="es or en")] = "es",
    slug: Annotated[str | None, typer.Option(help="used in sign-up links")] = None,
) -> None:
    """Create a business and its owner / crea un negocio y su propietario. The owner finishes
    it in the browser: brand, program, locations and staff (the guided set-up)."""
    from lealtad.onboarding import service as onboarding
    from lealtad.tenancy import service

    settings = _settings()
    db = _migrated_database(settings)
    now = SystemClock().now()
    try:
        with db.transaction() as conn:
            bid = service.create_business(
                conn,
                name=name,
                currency=currency,
                timezone=timezone,
                locale=locale,
                slug=slug,
                now=now,
                # Nothing earns until the owner chooses a program in the set-up.
                program=onboarding.empty_program(name),
            )
            service.create_staff(
                conn,
                bid,
                email=owner_email,
                name=owner_email,
                role=Role.owner,
                password=owner_password,
                location_id=None,
                now=now,
            )
            onboarding.begin(conn, bid, now)
            audit_cli.business_created(conn, bid, now)
            row = service.get_business(conn, bid)
    except LealtadError as exc:
        raise _fail(exc) from exc
    out.print(
        f"Business created / negocio creado: id={row.id} slug={row.slug} currency={row.currency}"
    )
    base = settings.public_base_url
    out.print(f"Set it up in the browser / configúralo en el navegador: {base}/admin/setup")
    out.print(
        f"  Owner's login / acceso del propietario: business / negocio {row.slug}, "
        f"e-mail {owner_email.strip().lower()} (the password you chose / la contraseña elegida)"
    )


@apikey_app.command("create")
def apikey_create(
    business: Annotated[str, typer.Option(help="the business slug")],
    name: Annotated[str, typer.Option(help="what the key is for")] = "POS",
    role: Annotated[Role, typer.Option(help="what the key may do")] = Role.staff,
    location: Annotated[int | None, typer.Option(help="location id the key is tied to")] = None,
) -> None:
    """Create an API key; it is shown once / crea una clave de API; se muestra una sola vez."""
    from lealtad.tenancy import service
    from lealtad.tenancy import store as tenancy_store

    db = _migrated_database(_settings())
    try:
        with db.transaction() as conn:
            row = tenancy_store.business_by_slug(conn, business)
            if row is None:
                err.print(f"[red]No business / no existe el negocio:[/red] {business}")
                raise typer.Exit(2)
            key_id, key = service.create_api_key(
                conn, row.id, name=name, role=role, location_id=location, now=SystemClock().now()
            )
            audit_cli.api_key_created(conn, row.id, key_id, SystemClock().now())
    except LealtadError as exc:
        raise _fail(exc) from exc
    out.print(key)
    err.print("Store it now: it is not shown again / guárdala ahora: no se vuelve a mostrar")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
