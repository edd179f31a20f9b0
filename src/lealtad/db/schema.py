"""Imports every domain's tables so that the shared MetaData is complete (for Alembic and tests)."""

from lealtad.db.metadata import metadata
from lealtad.ledger import tables as ledger_tables
from lealtad.members import tables as member_tables
from lealtad.purchases import tables as purchase_tables
from lealtad.tenancy import tables as tenancy_tables

__all__ = ["ledger_tables", "member_tables", "metadata", "purchase_tables", "tenancy_tables"]
