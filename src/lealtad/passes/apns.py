"""Telling a device that a pass changed, through Apple's push service (APNs). Apple's "Adding a
Web Service to Update Passes" and the APNs provider API: an HTTP/2 POST to
/3/device/<push token> with an empty JSON body, `apns-topic` set to the pass type identifier,
authenticated by the pass certificate as the TLS client certificate. The device then asks the
pass web service what changed.

HTTP/2 comes from httpx's optional `h2` package, a dependency of the project. Were it missing,
the requests would go out as HTTP/1.1, which Apple's production service refuses (the sender says
which protocol it used, so the operator's log shows it). Tests stand APNs in with a local HTTPS
server, which speaks HTTP/1.1: the client offers HTTP/2 and falls back, as ALPN negotiates."""

from __future__ import annotations

import importlib.util
import os
import ssl
import tempfile
from dataclasses import dataclass, field

import httpx

APNS_PRODUCTION = "https://api.push.apple.com"
HTTP2 = importlib.util.find_spec("h2") is not None


@dataclass
class Pushed:
    sent: int = 0
    failed: int = 0
    # Tokens APNs says are no longer active (410): their registrations are dropped.
    gone: list[str] = field(default_factory=list)
    protocol: str = ""


def _client_context(
    certificate_pem: str, key_pem: str, server_ca: str | None = None
) -> ssl.SSLContext:
    """The pass certificate as the TLS client certificate. `ssl` reads it only from files, so
    it is written to a private temporary directory for the moment it is loaded. `server_ca`
    replaces the system's trusted roots (a test's own APNs stand-in)."""
    context = ssl.create_default_context(cadata=server_ca)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "pass.pem")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(certificate_pem + "\n" + key_pem)
        context.load_cert_chain(path)
    return context


def send(
    base_url: str,
    topic: str,
    tokens: list[str],
    certificate_pem: str,
    key_pem: str,
    *,
    timeout: float = 10.0,
    server_ca: str | None = None,
) -> Pushed:
    done = Pushed()
    if not tokens:
        return done
    verify: ssl.SSLContext | bool = (
        _client_context(certificate_pem, key_pem, server_ca)
        if base_url.startswith("https:")
        else True
    )
    headers = {"apns-topic": topic, "apns-push-type": "background", "apns-priority": "5"}
    with httpx.Client(http2=HTTP2, verify=verify, timeout=timeout) as client:
        for token in tokens:
            try:
                answer = client.post(
                    f"{base_url.rstrip('/')}/3/device/{token}", content=b"{}", headers=headers
                )
            except httpx.HTTPError:
                done.failed += 1
                continue
            done.protocol = answer.http_version
            if answer.status_code == 200:
                done.sent += 1
            elif answer.status_code == 410:
                done.gone.append(token)
            else:
                done.failed += 1
    return done
