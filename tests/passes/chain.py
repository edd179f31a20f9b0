"""A certificate chain made in the test, standing in for Apple's: a root CA, a "WWDR"
intermediate it signs, and a Pass Type ID certificate the intermediate signs (as Apple's
developer portal issues one). Also the business's upload of it through the console."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

TEAM_ID = "AB12CD34EF"
PASS_TYPE_ID = "pass.example.testcafe.loyalty"


@dataclass(frozen=True)
class Chain:
    root_pem: bytes
    wwdr_der: bytes
    pass_pem: bytes
    key_pem: bytes
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    def p12(self, password: str) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"pass",
            self.key,
            self.certificate,
            None,
            serialization.BestAvailableEncryption(password.encode()),
        )


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: str,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    start = datetime.now(UTC) - timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain() -> Chain:
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]
    root = _issue("Test Root CA", keys[0], "Test Root CA", keys[0], ca=True)
    wwdr = _issue("Test WWDR Intermediate", keys[1], "Test Root CA", keys[0], ca=True)
    leaf = _issue(
        f"Pass Type ID: {PASS_TYPE_ID}", keys[2], "Test WWDR Intermediate", keys[1], ca=False
    )
    return Chain(
        root_pem=root.public_bytes(serialization.Encoding.PEM),
        wwdr_der=wwdr.public_bytes(serialization.Encoding.DER),
        pass_pem=leaf.public_bytes(serialization.Encoding.PEM),
        key_pem=keys[2].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        key=keys[2],
        certificate=leaf,
    )


def upload_apple(client, csrf: str, chain: Chain, *, p12_password: str | None = None, **form):
    """The owner's form at /admin/settings/wallet-passes/apple, with files as a browser sends."""
    data = {"csrf": csrf, "team_id": TEAM_ID, "pass_type_id": PASS_TYPE_ID} | form
    if p12_password is not None:
        data["password"] = p12_password
        files = {
            "certificate": (
                "pass.p12",
                io.BytesIO(chain.p12(p12_password)),
                "application/x-pkcs12",
            ),
            "wwdr": ("AppleWWDRCA.cer", io.BytesIO(chain.wwdr_der), "application/pkix-cert"),
        }
    else:
        files = {
            "certificate": ("pass.pem", io.BytesIO(chain.pass_pem), "application/x-pem-file"),
            "private_key": ("pass.key", io.BytesIO(chain.key_pem), "application/x-pem-file"),
            "wwdr": ("AppleWWDRCA.cer", io.BytesIO(chain.wwdr_der), "application/pkix-cert"),
        }
    return client.post(
        "/admin/settings/wallet-passes/apple", data=data, files=files, follow_redirects=False
    )
