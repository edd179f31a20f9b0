"""Which address a request comes from. The socket's peer, unless that peer is one of the reverse
proxies listed in LEALTAD_TRUSTED_PROXIES: then the nearest address in X-Forwarded-For that is
not itself a trusted proxy (the left part of the header is whatever the client chose to send).

One middleware decides it before anything else runs and puts it in the request's `client`, so
the attempt limits, the audit log and everything else read the same answer. `lealtad serve`
turns uvicorn's own forwarded-header handling off: it believed any X-Forwarded-For sent from
127.0.0.1, whatever the setting said, so anyone on the host could pose as any address."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=32)
def networks(setting: str) -> tuple[Network, ...]:
    """The setting, comma-separated addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `::1`),
    parsed once. Raises ValueError naming an entry that is neither."""
    parsed = []
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        try:
            parsed.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"LEALTAD_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return tuple(parsed)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def client_of(peer: str | None, forwarded: str, trusted: tuple[Network, ...]) -> str | None:
    """The client's address given the socket's peer and the X-Forwarded-For header."""
    if peer is None or not trusted or not _trusted(peer, trusted):
        return peer
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            # Garbage where a trusted proxy should have written an address: the proxy is the
            # last hop anyone vouches for.
            return peer
        if not _trusted(address, trusted):
            return address
    return peer


class ClientAddressMiddleware:
    """Puts the client's address in scope["client"]; the proxy's stays in scope["peer"]."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            # Read per request (parsed once per value): tests and tools change settings live.
            trusted = networks(self.settings.trusted_proxies)
            if trusted:
                host, port = scope["client"]
                # A proxy may add its own header line after the client's: read them all in order.
                forwarded = ",".join(
                    value.decode("latin-1")
                    for name, value in scope.get("headers") or ()
                    if name == b"x-forwarded-for"
                )
                client = client_of(str(host), forwarded, trusted)
                if client != host:
                    scope = dict(scope, client=(client, port), peer=(host, port))
        await self.app(scope, receive, send)
