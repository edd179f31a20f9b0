"""The business's Apple pass certificate: reading what the owner uploads (PEM, or PKCS#12 with its
password), and the detached PKCS#7 signature of a pass's manifest that Wallet checks against
Apple's WWDR intermediate."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

MAX_UPLOAD_BYTES = 64 * 1024


class BadCredentials(ValueError):
    """An upload refused; `reason` is one of certificate, key, password, mismatch, wwdr."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PassCertificate:
    certificate_pem: str
    private_key_pem: str


def _certificate(data: bytes, reason: str) -> x509.Certificate:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise BadCredentials(reason) from exc


def _pem_key(key: object) -> str:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise BadCredentials("key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _same_pair(certificate: x509.Certificate, key_pem: str) -> None:
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    public = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if (
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        != public
    ):
        raise BadCredentials("mismatch")


def read_pem(certificate: bytes, private_key: bytes, password: str = "") -> PassCertificate:
    """A certificate and its private key as two PEM files (the key may be encrypted)."""
    cert = _certificate(certificate, "certificate")
    try:
        key = serialization.load_pem_private_key(private_key, password.encode() or None)
    except TypeError as exc:  # encrypted without a password, or a password for a plain key
        raise BadCredentials("password") from exc
    except ValueError as exc:
        raise BadCredentials("key" if not password else "password") from exc
    key_pem = _pem_key(key)
    _same_pair(cert, key_pem)
    return PassCertificate(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem)


def read_pkcs12(data: bytes, password: str) -> PassCertificate:
    """The .p12 that Keychain Access exports: the certificate with its key."""
    try:
        key, cert, _others = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError as exc:
        raise BadCredentials("password") from exc
    if cert is None or key is None:
        raise BadCredentials("certificate")
    key_pem = _pem_key(key)
    _same_pair(cert, key_pem)
    return PassCertificate(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem)


def read_wwdr(data: bytes) -> str:
    """Apple's WWDR intermediate (.cer is DER, or PEM), kept as PEM."""
    return _certificate(data, "wwdr").public_bytes(serialization.Encoding.PEM).decode()


def sign_manifest(manifest: bytes, certificate_pem: str, key_pem: str, wwdr_pem: str) -> bytes:
    """The `signature` file: DER, detached, with the pass certificate and the intermediate."""
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    wwdr = x509.load_pem_x509_certificate(wwdr_pem.encode())
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest)
        .add_signer(cert, key, hashes.SHA256())
        .add_certificate(wwdr)
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
