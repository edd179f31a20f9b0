"""Settings from LEALTAD_* environment variables (and an optional .env), validated at start."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lealtad"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEALTAD_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    base_url: str = ""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # FastAPI's own OpenTelemetry (traces, metrics, logs through the global providers) for a
    # deployment that sets OpenTelemetry up; off, no request asks for the providers (the app's
    # metrics are Prometheus', /metrics).
    opentelemetry: bool = False
    staff_token_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Outgoing e-mail. Without a host, e-mail messages wait in the queue (status "queued").
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "Lealtad <no-reply@localhost>"
    # Web push (VAPID, RFC 8292): the server's P-256 key, PEM or raw base64url. Outside production
    # a key is made and kept in the data directory, like the secret key.
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:no-reply@localhost"
    # Webhook endpoints on private or loopback addresses are refused in production unless this is
    # set, so a business cannot aim the server at the machines around it.
    webhook_allow_private: bool = False
    # Personal data (security/fields.py): `<id>:<base64url 32-byte key>` entries, the first
    # encrypts and all decrypt (`lealtad keys new`, `lealtad keys rotate`); the blind-index key.
    field_keys: str = ""
    field_index_key: str = ""
    # Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is believed
    # (security/proxies.py), for the attempt limits and the audit log; empty: the socket's address.
    trusted_proxies: str = ""
    # Bearer token Prometheus sends to /metrics; without it /metrics is open outside production
    # and off in production (lealtad.metrics).
    metrics_token: str = ""
    # The largest request body any route reads (lealtad.http.BodyLimitMiddleware): 413 beyond.
    max_body_bytes: int = Field(default=1_048_576, ge=65_536, le=64 * 1_048_576)
    # Days a connector's delivery log keeps a delivery (connector_deliveries); the daily jobs
    # delete older ones. The purchases they recorded stay, with their receipts.
    connector_log_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        from lealtad.public_address import check_base_url

        return check_base_url(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        from lealtad.security.proxies import networks

        networks(value)
        return value

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.env == "prod":
            if len(self.secret_key) < 32:
                raise ValueError(
                    "LEALTAD_SECRET_KEY must be set to at least 32 random characters in production"
                )
            if not self.database_url:
                raise ValueError("LEALTAD_DATABASE_URL must be set in production")
            if not self.field_keys or len(self.field_index_key) < 43:
                raise ValueError(
                    "LEALTAD_FIELD_KEYS and LEALTAD_FIELD_INDEX_KEY (32 bytes, base64url) must be "
                    "set in production: see `lealtad keys new`"
                )
            from lealtad.security.crypto import parse_keys

            parse_keys(self.field_keys)
        return self

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'lealtad.db'}"

    @cached_property
    def effective_secret_key(self) -> str:
        """Outside production a random key is kept in the data directory, so that a development
        install never signs tokens with a key published in the source."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    @property
    def private_addresses_allowed(self) -> bool:
        """Webhooks to loopback and private networks: fine on a developer's machine and in
        tests, refused in production unless the operator says otherwise."""
        return self.webhook_allow_private or self.env != "prod"

    # A plain property: settings are copied with model_copy(update=...) in tests and tools, and a
    # cached value would be copied along with them, pointing at the old address.
    @property
    def public_base_url(self) -> str:
        """The absolute address every link and QR code is made with (lealtad.public_address)."""
        from lealtad.public_address import public_base_url

        return public_base_url(self)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
