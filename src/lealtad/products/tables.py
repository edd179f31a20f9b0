"""The products a business sells at the counter."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Index, Integer, String, Table

from lealtad.db.metadata import business_column, id_column, metadata

products = Table(
    "products",
    metadata,
    id_column(),
    business_column(),
    # The code and category a purchase's items carry, which the program's rules name.
    Column("sku", String(100), nullable=False),
    Column("category", String(100), nullable=True),
    Column("title", JSON, nullable=False),  # {"es": ..., "en": ...}
    Column("price", BigInteger, nullable=False),  # minor units of the business's currency
    Column("position", Integer, nullable=False),  # the button's place on the counter
    Column("active", Boolean, nullable=False),  # shown at the counter
    Column("created_at", DateTime, nullable=False),
    Index("uq_products_business_sku", "business_id", "sku", unique=True),
)
