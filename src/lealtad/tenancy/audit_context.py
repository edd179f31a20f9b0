"""Where a change comes from, for the audit log: the way in (api, admin, counter, cli, worker),
the caller's address and browser, and the request id. A small ASGI middleware puts it in a
context variable for the request; the CLI sets it for a command; `tenancy.service.audit` reads
it, so no service has to carry it through its arguments."""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from lealtad.kit.request_context import request_id_var

# Values never written to the log, whatever the change: the log is read by managers and
# exported to spreadsheets, so a secret there would outlive its rotation.
SECRET_FIELDS = frozenset(
    {
        "password",
        "password_hash",
        "secret",
        "secret_hash",
        "key",
        "totp_secret",
        "totp_code",
        "pin",
        "pin_hash",
        "card_pin",
        "token",
        "signing_secret",
    }
)
CHANGED = "(changed)"


@dataclass(frozen=True)
class Origin:
    channel: str
    ip: str | None = None
    user_agent: str | None = None


# No request and no command around the call: a scheduled job of the worker.
_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "audit_origin", default=None
)
WORKER = Origin("worker")


def columns() -> dict[str, Any]:
    """The audit row's where-from columns for the current context."""
    origin = _origin.get() or WORKER
    rid = request_id_var.get()
    return {
        "channel": origin.channel,
        "ip": origin.ip,
        "user_agent": origin.user_agent,
        "request_id": None if rid == "-" else rid,
    }


@contextmanager
def origin(channel: str, ip: str | None = None, user_agent: str | None = None) -> Iterator[None]:
    token = _origin.set(Origin(channel, ip, user_agent))
    try:
        yield
    finally:
        _origin.reset(token)


def cli_actor() -> str:
    """A command run on the server has no staff or key: the operating-system user is who."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = "unknown"
    return f"cli:{user}"[:100]


def use_cli() -> None:
    """For the rest of a CLI command (it runs in the process's own context)."""
    _origin.set(Origin("cli", user_agent="lealtad-cli"))


def redact(details: Any) -> Any:
    """The details with every secret replaced by "(changed)", at any depth."""
    if isinstance(details, Mapping):
        return {
            key: CHANGED if str(key).lower() in SECRET_FIELDS else redact(value)
            for key, value in details.items()
        }
    if isinstance(details, list | tuple):
        return [redact(value) for value in details]
    return details


def dump(value: Any) -> dict[str, Any]:
    """A model or mapping as JSON-ready fields, for before/after details."""
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    if hasattr(value, "_mapping"):
        value = value._mapping
    return {str(key): _plain(item) for key, item in dict(value).items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{field: {"before", "after"}} for the fields of `after` whose value changed."""
    return {
        key: {"before": before.get(key), "after": value}
        for key, value in after.items()
        if before.get(key) != value
    }


def created(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: {"before": None, "after": value} for key, value in fields.items()}


def deleted(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: {"before": value, "after": None} for key, value in fields.items()}


def _channel(path: str) -> str:
    for prefix, channel in (("/api/", "api"), ("/admin", "admin"), ("/counter", "counter")):
        if path.startswith(prefix):
            return channel
    return "web"


def client_ip(scope: Scope) -> str | None:
    """The client's address, as security/proxies.py decided it for the request."""
    client = scope.get("client")
    return str(client[0])[:64] if client else None


class AuditContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        agent = headers.get(b"user-agent", b"").decode("latin-1")[:300] or None
        token = _origin.set(Origin(_channel(scope["path"]), client_ip(scope), agent))
        try:
            await self.app(scope, receive, send)
        finally:
            _origin.reset(token)
