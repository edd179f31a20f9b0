"""A push service for tests, on 127.0.0.1: it checks each request as Mozilla's or Google's
would (the VAPID signature with the key in the header, the audience, expiry and subject) and
decrypts the body with the independent `http_ece` package, using the keys a browser made."""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from lealtad.kit.clock import FixedClock


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What `pushManager.subscribe()` makes: a key pair and an auth secret, kept in the browser."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64(point)


@dataclass
class Pushed:
    path: str
    problems: list[str]
    message: dict[str, Any] | None
    ttl: str | None


class PushService:
    """Answers 201 to a well-formed push, 400 to a malformed one, or what `answers` says for a
    path (410 once a subscription is gone)."""

    def __init__(self, clock: FixedClock, subject: str) -> None:
        self.clock, self.subject = clock, subject
        self.browsers: dict[str, Browser] = {}
        self.answers: dict[str, list[int]] = {}
        self.received: list[Pushed] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def endpoint(self, name: str, browser: Browser) -> str:
        self.browsers[f"/push/{name}"] = browser
        return f"{self.origin}/push/{name}"

    def check_vapid(self, authorization: str) -> list[str]:
        scheme, _, params = authorization.partition(" ")
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        if scheme != "vapid" or set(fields) != {"t", "k"}:
            return [f"not a vapid header: {authorization!r}"]
        head, claims, signature = fields["t"].split(".")
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
        raw = unb64(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        problems = []
        try:
            key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            problems.append("bad signature")
        if json.loads(unb64(head)) != {"typ": "JWT", "alg": "ES256"}:
            problems.append("bad JWT header")
        body = json.loads(unb64(claims))
        now = self.clock.now().timestamp()
        if body["aud"] != self.origin:
            problems.append(f"aud {body['aud']}")
        if not now < body["exp"] <= now + 24 * 3600:
            problems.append("exp outside the next 24 hours")
        if body["sub"] != self.subject:
            problems.append(f"sub {body['sub']}")
        return problems

    def _receive(self, path: str, headers: Any, raw: bytes) -> int:
        problems = self.check_vapid(headers.get("Authorization", ""))
        if headers.get("Content-Encoding") != "aes128gcm":
            problems.append("content-encoding")
        message = None
        browser = self.browsers.get(path)
        if browser is not None:
            plain = http_ece.decrypt(
                raw, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
            )
            message = json.loads(plain)
        with self.lock:
            self.received.append(Pushed(path, problems, message, headers.get("TTL")))
            queue = self.answers.get(path, [])
            status = queue.pop(0) if len(queue) > 1 else queue[0] if queue else 201
        return 400 if problems else status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = service._receive(self.path, self.headers, raw)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    def at(self, path: str) -> list[Pushed]:
        with self.lock:
            return [r for r in self.received if r.path == path]
