"""Stand-ins for the phone channels' providers, on 127.0.0.1, checking what a real one checks:
- SMS: Twilio's Programmable Messaging REST API as documented for version 2010-04-01
  (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded To/From/Body/
  StatusCallback, HTTP basic auth with the account sid and auth token, 201 with the `sid`);
- WhatsApp: Meta's WhatsApp Business Cloud API as documented for Graph API v21.0
  (`POST /v21.0/{phone_number_id}/messages` with `Authorization: Bearer`, a JSON body with
  messaging_product "whatsapp", answered 200 with `messages[0].id`).
Each request is kept with the problems found in it; `answer` overrides the status code."""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    json: dict[str, Any] | None
    problems: list[str]


@dataclass
class Provider:
    account: str = "AC0123456789abcdef0123456789abcdef"
    token: str = "sms-auth-token-for-tests"
    phone_number_id: str = "106540352242922"
    access_token: str = "EAAG-whatsapp-access-token"
    answer: int | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, body = provider._take(self.path, dict(self.headers.items()), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _take(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        lower = {k.lower(): v for k, v in headers.items()}
        problems: list[str] = []
        if path.startswith("/2010-04-01/"):
            form = dict(parse_qsl(raw.decode()))
            expected = "Basic " + base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
            if lower.get("authorization") != expected:
                problems.append("basic auth")
            if path != f"/2010-04-01/Accounts/{self.account}/Messages.json":
                problems.append("path")
            if not lower.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                problems.append("content type")
            if not {"To", "From", "Body"} <= set(form):
                problems.append("fields")
            self.received.append(Received(path, lower, form, None, problems))
            if problems:
                return 401, {"code": 20003, "message": "Authenticate", "status": 401}
            if self.answer:
                return self.answer, {"code": 21211, "message": "Invalid 'To' Phone Number"}
            return 201, {"sid": "SM" + os.urandom(16).hex(), "status": "queued", "to": form["To"]}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if lower.get("authorization") != f"Bearer {self.access_token}":
            problems.append("bearer token")
        if path != f"/v21.0/{self.phone_number_id}/messages":
            problems.append("path")
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            problems.append("messaging_product")
        self.received.append(Received(path, lower, {}, body, problems))
        if problems:
            return 401, {"error": {"message": "Invalid OAuth access token", "code": 190}}
        if self.answer:
            return self.answer, {
                "error": {"message": "Template name does not exist", "code": 132001}
            }
        to = str(body.get("to")) if isinstance(body, dict) else ""
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": f"wamid.HBgL{os.urandom(12).hex()}"}],
        }
