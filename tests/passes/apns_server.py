"""APNs stood in for on 127.0.0.1, over TLS that requires a client certificate issued under the
test's "WWDR" chain, as Apple's provider API does with a pass certificate. It checks each
request as the provider API documents it for Wallet passes (POST /3/device/<token>, apns-topic
= the pass type identifier, an empty JSON body) and answers 200, or 410 for tokens it was told
are gone. HTTP/1.1 here: the standard library serves no HTTP/2 (see passes/apns.py)."""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.passes.chain import Chain


@dataclass
class Push:
    path: str
    topic: str | None
    body: bytes
    client_subject: str


def _server_certificate(folder: Path) -> tuple[str, str, str]:
    """A CA and the server's certificate for 127.0.0.1: (cert file, key file, CA PEM)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test APNs CA")])
    start = datetime.now(UTC) - timedelta(days=1)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file), ca.public_bytes(serialization.Encoding.PEM).decode()


class ApnsStandIn:
    def __init__(self, chain: Chain, gone: set[str] | None = None) -> None:
        self.pushes: list[Push] = []
        self.gone = gone or set()
        self._folder = tempfile.TemporaryDirectory()
        cert, key, self.ca_pem = _server_certificate(Path(self._folder.name))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.verify_mode = ssl.CERT_REQUIRED
        wwdr = x509.load_der_x509_certificate(chain.wwdr_der)
        context.load_verify_locations(
            cadata=chain.root_pem.decode() + wwdr.public_bytes(serialization.Encoding.PEM).decode()
        )
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                peer = self.connection.getpeercert() or {}
                subject = dict(item[0] for item in peer.get("subject", ()))
                stand_in.pushes.append(
                    Push(
                        self.path,
                        self.headers.get("apns-topic"),
                        body,
                        subject.get("commonName", ""),
                    )
                )
                token = self.path.rsplit("/", 1)[-1]
                status = 410 if token in stand_in.gone else 200
                if not self.path.startswith("/3/device/") or body != b"{}":
                    status = 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ApnsStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._folder.cleanup()
