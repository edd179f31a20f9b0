"""A business's connectors (one per vendor) and the log of every delivery they received."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Table

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedString

connector_configs = Table(
    "connector_configs",
    metadata,
    id_column(),
    business_column(),
    Column("vendor", String(30), nullable=False),
    # The key the vendor signs with: whoever reads the database must not be able to forge sales.
    Column("secret", EncryptedString("connector_configs.secret"), nullable=False),
    # The vendor's location ids to ours; a sale from a location not listed goes to `location_id`.
    Column("locations", JSON, nullable=False),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=True),
    # A customer the business does not know yet: "enrol" them, or record the sale "anonymous".
    Column("unknown_customer", String(10), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("uq_connector_configs_business_vendor", "business_id", "vendor", unique=True),
)

connector_deliveries = Table(
    "connector_deliveries",
    metadata,
    id_column(),
    business_column(),
    Column("vendor", String(30), nullable=False),
    Column("event", String(60), nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("received_at", DateTime, nullable=False),
    # recorded, duplicate, ignored, refused (signature, time) or failed (could not be applied).
    Column("outcome", String(20), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("error_code", String(60), nullable=True),
    Column("member_id", Id, nullable=True),
    Index("ix_connector_deliveries_business_vendor", "business_id", "vendor", "received_at"),
)

# A vendor's own customer id linked to the member it names: Loyverse receipts (and some Square
# payments) name the buyer only by that id, so it is remembered when a delivery shows it beside
# an e-mail or phone. No call to the vendor is ever made to resolve it.
connector_customers = Table(
    "connector_customers",
    metadata,
    id_column(),
    business_column(),
    Column("vendor", String(30), nullable=False),
    Column("customer_ref", String(100), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index(
        "uq_connector_customers_business_vendor_ref",
        "business_id",
        "vendor",
        "customer_ref",
        unique=True,
    ),
)
