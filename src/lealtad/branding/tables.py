"""The brand of a business: one row per business, made the first time the owner sets either."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, LargeBinary, String, Table

from lealtad.db.metadata import Id, metadata

brands = Table(
    "business_brands",
    metadata,
    # One row per business: the business is the key.
    Column("business_id", Id, ForeignKey("businesses.id"), primary_key=True, autoincrement=False),
    # "#rrggbb"; NULL keeps the product's default look.
    Column("colour", String(7), nullable=True),
    # The image itself, in the database so that it lives in backups and on every app process.
    Column("logo", LargeBinary, nullable=True),
    Column("logo_type", String(16), nullable=True),  # image/png, image/jpeg, image/webp
    Column("logo_hash", String(16), nullable=True),  # in the logo's URL: a new logo, a new URL
    Column("updated_at", DateTime, nullable=False),
)
