"""Starting the web server for `lealtad serve` and `lealtad demo`: where it listens, the public
address it hands to the app it starts (so that every link and QR code names the server that made
it), and, with `--lan`, the sign-up link and its QR code in the terminal for a phone on the
shop's Wi-Fi."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from lealtad import public_address
from lealtad.config import Settings

# glibc's mallopt parameter for the number of malloc arenas (malloc.h).
M_ARENA_MAX = -8
LAN_HOST = "0.0.0.0"  # noqa: S104  (--lan: reachable from the local network, by choice)
# Half blocks draw two rows of modules per line of text, so the code stays square in a terminal.
HALVES = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


@dataclass(frozen=True)
class Address:
    host: str  # what the server binds to
    port: int
    base: str  # what links are made with


def address(settings: Settings, host: str | None, port: int | None, lan: bool) -> Address:
    bind = LAN_HOST if lan else host or settings.host
    listen = port or settings.port
    return Address(bind, listen, public_address.for_server(settings, bind, listen))


def hand_to_app(settings: Settings, where: Address) -> None:
    """The app is created by uvicorn in this process or in its worker processes, from the
    environment: the address goes there, and beside the data so the worker and the daily jobs
    (other processes) make the same links."""
    os.environ["LEALTAD_HOST"] = where.host
    os.environ["LEALTAD_PORT"] = str(where.port)
    os.environ["LEALTAD_BASE_URL"] = where.base
    os.environ.setdefault("LEALTAD_DATA_DIR", str(settings.data_dir))
    # A read-only data directory: the other processes then need LEALTAD_BASE_URL.
    with contextlib.suppress(OSError):
        public_address.record(settings.data_dir, where.base)


def terminal_qr(text: str) -> list[str]:
    """`text` as a QR code in lines of half-block characters, dark modules drawn."""
    import segno

    rows = [[bool(v) for v in row] for row in segno.make(text, error="m").matrix_iter(border=2)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return [
        "".join(HALVES[(top, bottom)] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    ]


def announce_lan(out: Console, where: Address, joins: list[tuple[str, str]], what: str) -> None:
    """The warning, then each business's sign-up link with a QR code a phone can scan.
    `joins` holds (business name, join URL); `what` is "demo" or "server"."""
    if public_address.lan_address() is None:
        out.print(
            "[yellow]No local network found: serving on this machine only / no se encuentra "
            "una red local: solo en esta máquina[/yellow]"
        )
    exposed = (
        "This exposes the demo (with its printed passwords) to everyone on the local network"
        " / Esto expone la demo (con sus contraseñas) a todos en la red local"
        if what == "demo"
        else "This exposes the server to everyone on the local network / Esto expone el "
        "servidor a todos en la red local"
    )
    out.print(f"\n[bold red]{exposed}.[/bold red] Ctrl+C to stop / para parar.")
    out.print(f"  Local network / red local: {where.base}")
    for name, url in joins:
        out.print(f"\n  {name}: scan to join / escanea para unirte: {url}")
        # Black on white whatever the terminal's colours, so a phone reads it the right way up.
        for line in terminal_qr(url):
            out.print(Text("  ") + Text(line, style="black on bright_white"), highlight=False)


def join_links(settings: Settings, base: str) -> list[tuple[str, str]]:
    """The first few businesses' sign-up links, or none when the database is not ready."""
    from lealtad.db.engine import Database
    from lealtad.tenancy import store as tenancy_store

    try:
        db = Database(settings.effective_database_url)
        with db.read() as conn:
            found = tenancy_store.all_businesses(conn)[:3]
        db.dispose()
    except Exception:  # no database yet: the address alone is still worth printing
        return []
    return [(row.name, f"{base}/join/{row.slug}") for row in found]


def fewer_malloc_arenas() -> None:
    """At most two malloc arenas per process, unless MALLOC_ARENA_MAX says otherwise. glibc gives
    each thread that allocates its own arena (up to 8 per core) and keeps what was freed in one for
    that one: under the P1 load the request threads left each worker some 7-15 MB heavier
    (docs/benchmarks.md, P6), for no measurable gain in speed. The variable reaches the workers
    uvicorn starts; mallopt sets it in this process, which serves itself with one worker and is
    what the workers are forked from with --preload. Without glibc, nothing happens."""
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    with contextlib.suppress(OSError, AttributeError, ValueError):
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, int(os.environ["MALLOC_ARENA_MAX"]))


def run(
    settings: Settings, where: Address, workers: int, worker_healthcheck: int, preload: bool = False
) -> None:
    import uvicorn

    hand_to_app(settings, where)
    settings.effective_secret_key  # noqa: B018  (created once here, before workers fork)
    fewer_malloc_arenas()
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # One directory for every worker's counters, so that whichever worker answers /metrics
        # adds them all up (lealtad.metrics); made empty here, removed on exit.
        metrics_dir = tempfile.mkdtemp(prefix="lealtad-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        if preload and workers > 1:
            from lealtad import prefork

            prefork.serve(where, workers, settings.log_level)
            return
        uvicorn.run(
            "lealtad.api:create_app",
            factory=True,
            host=where.host,
            port=where.port,
            workers=workers,
            access_log=False,
            log_level=settings.log_level,
            # Forwarded headers are read by the app itself, from LEALTAD_TRUSTED_PROXIES only
            # (security/proxies.py); uvicorn's own default believes anyone on 127.0.0.1.
            proxy_headers=False,
            # No route speaks WebSocket: without this each worker imports a WebSocket library
            # for nothing (some 2.5 MB, docs/benchmarks.md P6).
            ws="none",
            timeout_worker_healthcheck=worker_healthcheck,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
