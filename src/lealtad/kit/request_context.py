"""The request's id, as a context variable: set by the HTTP edge's middleware (http.py), read by
whatever records the request's doings (the audit, the logs), which need not import the edge."""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
