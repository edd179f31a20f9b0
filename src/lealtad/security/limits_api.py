"""The HTTP side of the attempt limits (security/limits.py counts): a locked key's refusal
answered with the error envelope and Retry-After, and the 429 documented on the routes that can
answer it. Kept in an edge module so that the counting below imports no part of the web app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from lealtad.http import ErrorEnvelope, answer_error
from lealtad.security.limits import TooManyAttempts


async def _too_many(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyAttempts)
    response = answer_error(request, exc.http_status, exc.code, exc.message, exc.details, exc)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def install(app: FastAPI) -> None:
    """Answers to a locked key carry Retry-After (pages that catch it add it themselves)."""
    app.add_exception_handler(TooManyAttempts, _too_many)


_TEXT = "too many failed attempts (too_many_attempts): wait for Retry-After seconds"
# For the routes that can answer 429, so that the OpenAPI description says so.
LIMITED: dict[int | str, dict[str, Any]] = {429: {"model": ErrorEnvelope, "description": _TEXT}}
