"""The HTTP edge shared by all routers: the error envelope, its handlers, request ids and logs."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lealtad.errors import LealtadError
from lealtad.kit import dates, free_json
from lealtad.kit.request_context import request_id_var as request_id_var

log = logging.getLogger("lealtad")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or invalid credentials",
    403: "The credentials do not allow this",
    404: "Not found in this business",
    409: "Conflicts with the current state",
    413: "The request body is larger than the server takes (body_too_large)",
    422: "Invalid input",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text} for status, text in _DESCRIPTIONS.items()
}


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status, headers={"X-Request-ID": request_id_var.get()})


# Set by the app factory: draws an error as a page for a request a person's browser made (a
# form, a link), or gives None to leave it to the JSON envelope. Every handler below asks it
# first, so one decision covers every page route, present and future (web/error_pages.py).
ErrorPage = Callable[[Request, int, str, str, Any, Exception | None], Response | None]


def answer_error(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    exc: Exception | None = None,
) -> Response:
    """The error as its caller reads it: a page for a browser on a page route, else JSON."""
    draw: ErrorPage | None = getattr(request.app.state, "error_page", None)
    if draw is not None:
        page = draw(request, status, code, message, details, exc)
        if page is not None:
            page.headers["X-Request-ID"] = request_id_var.get()
            return page
    return error_response(status, code, message, details)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LealtadError)
    return answer_error(request, exc.http_status, exc.code, exc.message, exc.details, exc)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    clean = []
    for err in errors:
        item = {"loc": list(err.get("loc", ())), "type": err.get("type"), "msg": err.get("msg")}
        clean.append(item)
    return clean


# Refusals of the edge's own value types (a date out of range, JSON nested too deep...): the
# answer carries their code and names the field and the limit, so a client can tell them apart
# from a mistyped field without reading the details.
NAMED_CODES = dates.CODES | free_json.CODES


def _field_name(loc: list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "the request body"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_errors(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return error_response(400, "malformed_json", "the request body is not valid JSON", errors)
    named = next((e for e in errors if e["type"] in NAMED_CODES), None)
    if named is not None:
        message = f"{_field_name(named['loc'])} {named['msg']}"
        return answer_error(request, 422, named["type"], message, errors, exc)
    message = "the request has invalid or missing fields"
    return answer_error(request, 422, "invalid_request", message, errors, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {
        404: "not_found",
        405: "method_not_allowed",
        401: "unauthorized",
        403: "forbidden",
        400: "malformed_body",
        413: "body_too_large",
    }
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    answer = answer_error(request, exc.status_code, code, str(exc.detail), None, exc)
    if exc.headers:  # a 405's Allow, a 401's WWW-Authenticate
        answer.headers.update(exc.headers)
    return answer


async def _data_error(request: Request, exc: Exception) -> Response:
    # The database refused a value the validators let through (a NUL byte, an out-of-range
    # number): the input is bad, not the server.
    log.warning("database refused a value: %s", exc)
    message = "a value in the request cannot be stored"
    return answer_error(request, 422, "invalid_value", message, None, exc)


async def _integrity_error(request: Request, exc: Exception) -> Response:
    # Two requests raced past a uniqueness check; the loser gets what it would have got later.
    log.info("integrity conflict: %s", exc)
    message = "the request conflicts with a concurrent change"
    return answer_error(request, 409, "conflict", message, None, exc)


async def _busy_error(request: Request, exc: Exception) -> Response:
    log.warning("database busy: %s", exc)
    return answer_error(request, 503, "busy", "the database is busy; retry the request", None, exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    message = "something went wrong on our side"
    return answer_error(request, 500, "internal_error", message, None, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LealtadError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _busy_error)
    app.add_exception_handler(Exception, _unexpected)


class RequestIdMiddleware:
    """Gives every request an id (or keeps the caller's), logs it with each line and returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        # 16 random hex digits, as a uuid4's first 16 were, for a third of the cost.
        rid = incoming[:64] if incoming.isprintable() and incoming else os.urandom(8).hex()
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.1fms", scope["method"], scope["path"], status, elapsed)
            request_id_var.reset(token)


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request bodies are limited to {max_bytes:,} bytes")


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with a 413 `body_too_large`: before the route runs
    when Content-Length says so, else as soon as the bytes read pass the limit (a chunked body
    has no length to check). Every JSON route reads its whole body into memory before
    validating it, so without this one request could take as much memory as it liked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Routes render it with the other HTTP errors; caught below otherwise.
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = BodyTooLarge(self.max_bytes)
        request = Request(scope)
        answer = answer_error(request, 413, "body_too_large", str(exc.detail), None, exc)
        # Asked to close: the unread rest of the body is not worth reading.
        answer.headers["Connection"] = "close"
        await answer(scope, receive, send)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger("lealtad")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
