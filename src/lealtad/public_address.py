"""Where members, staff and e-mail readers reach this server: the one absolute address every
link and QR code is made with (posters, sign-up and referral links, e-mails, unsubscribe and
survey links, the demo's printed URLs).

The order, first that applies:
1. `LEALTAD_BASE_URL`, as the operator wrote it (behind a proxy, the public https address);
2. the address the server listens on, which `lealtad serve`/`lealtad demo` hand to the app they
   start (`--host`, `--port`, `--lan`), or `LEALTAD_HOST`/`LEALTAD_PORT` when a process has them;
3. for processes that do not serve (the worker, `lealtad jobs run`, reports), the address the
   last `lealtad serve` on this data directory recorded there, so their e-mails link to it;
4. `http://127.0.0.1:8000`.

A wildcard bind address (0.0.0.0, ::) is no place to send anyone: it stands for the machine's
address on its local network, found from the route the machine's default traffic takes."""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from lealtad.config import Settings

WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})  # noqa: S104  (recognised, not bound)
RECORD_FILE = "public-address"
ROUTES = Path("/proc/net/route")
# A documentation address (RFC 5737): connecting a UDP socket to it sends nothing, but makes the
# system choose the source address of its default route. Used where /proc/net/route is missing.
NO_ONE = "192.0.2.1"


def check_base_url(value: str) -> str:
    """`LEALTAD_BASE_URL` as links are made from it; ValueError when it cannot be one."""
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("LEALTAD_BASE_URL must be an http:// or https:// address with a host")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        # Pages, redirects and the wallet's scope all live at the root of the address.
        raise ValueError(
            "LEALTAD_BASE_URL must be the root of the site, without a path, query or fragment"
        )
    return value


def _default_gateway() -> str | None:
    try:
        lines = ROUTES.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "00000000":
            gateway = int(fields[2], 16)
            if gateway:
                return str(ipaddress.IPv4Address(gateway.to_bytes(4, "little")))
    return None


@cache
def lan_address() -> str | None:
    """This machine's IPv4 address on the network of its default route, or None when it has
    no such network. Asks the kernel's routing table only: a connected UDP socket sends no
    packet until something is written to it, and nothing is."""
    target = _default_gateway() or NO_ONE
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((target, 9))
            found = str(probe.getsockname()[0])
        except OSError:
            return None
    if found in WILDCARDS or ipaddress.ip_address(found).is_loopback:
        return None
    return found


def listening_url(host: str, port: int) -> str:
    """The address a browser uses for a server bound to `host`:`port`."""
    if host in WILDCARDS:
        host = lan_address() or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def recorded(data_dir: Path) -> str | None:
    try:
        text = (data_dir / RECORD_FILE).read_text().strip()
    except OSError:
        return None
    try:
        return check_base_url(text).rstrip("/") or None
    except ValueError:
        return None


def record(data_dir: Path, url: str) -> None:
    """Kept beside the secret key, for the processes of this data directory that do not serve."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / RECORD_FILE).write_text(url + "\n")


def public_base_url(settings: Settings) -> str:
    if settings.base_url:
        return settings.base_url.rstrip("/")
    if {"host", "port"} & settings.model_fields_set:
        return listening_url(settings.host, settings.port)
    return recorded(settings.data_dir) or listening_url(settings.host, settings.port)


def for_server(settings: Settings, host: str | None, port: int | None) -> str:
    """The address a server about to listen on `host`:`port` gives out."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return listening_url(host or settings.host, port or settings.port)
