"""Domain errors. Each carries a stable machine-readable code, a human message and an HTTP status;
one handler in api.py renders them all as {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any


class LealtadError(Exception):
    http_status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.details = details


class Unauthorized(LealtadError):
    http_status = 401
    code = "unauthorized"


class Forbidden(LealtadError):
    http_status = 403
    code = "forbidden"


class NotFound(LealtadError):
    http_status = 404
    code = "not_found"


class Conflict(LealtadError):
    http_status = 409
    code = "conflict"


class Invalid(LealtadError):
    http_status = 422
    code = "invalid"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
