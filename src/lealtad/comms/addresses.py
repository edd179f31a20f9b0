"""Where the server may send requests a business configures (webhooks): public addresses only,
so that a business cannot aim the server at the database, the cloud metadata service or other
machines on its network (server-side request forgery)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# Names that mean "this machine" or a private network whatever DNS says.
_PRIVATE_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def refusal(url: str, *, resolve: bool) -> str | None:
    """Why the URL may not be called, or None. `resolve` also looks the name up, for the moment
    of sending; when saving, only the literal host is judged (DNS may change by then anyway)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return "the URL names no host"
    if host == "localhost" or host.endswith(_PRIVATE_NAMES):
        return f"{host} is a private name"
    try:
        return None if _is_public(host) else f"{host} is not a public address"
    except ValueError:
        pass  # a name, not an address literal
    if not resolve:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        return f"{host} cannot be resolved: {exc}"
    for *_, sockaddr in found:
        if not _is_public(str(sockaddr[0])):
            return f"{host} resolves to {sockaddr[0]}, which is not a public address"
    return None
