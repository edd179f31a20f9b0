"""Imports every domain's tables so that the shared MetaData is complete (for Alembic and tests)."""

from lealtad.analytics import tables as analytics_tables
from lealtad.branding import tables as branding_tables
from lealtad.comms import channel_tables
from lealtad.comms import tables as comms_tables
from lealtad.connectors import tables as connector_tables
from lealtad.connectors import till_file_tables
from lealtad.db.metadata import metadata
from lealtad.events import tables as event_tables
from lealtad.imports import tables as import_tables
from lealtad.ledger import tables as ledger_tables
from lealtad.members import tables as member_tables
from lealtad.onboarding import tables as onboarding_tables
from lealtad.passes import tables as pass_tables
from lealtad.products import tables as product_tables
from lealtad.purchases import tables as purchase_tables
from lealtad.rewards import tables as reward_tables
from lealtad.rules import tables as rule_tables
from lealtad.security import limits_tables
from lealtad.surveys import tables as survey_tables
from lealtad.tenancy import tables as tenancy_tables
from lealtad.tickets import tables as ticket_tables
from lealtad.tiers import tables as tier_tables

__all__ = [
    "analytics_tables",
    "branding_tables",
    "channel_tables",
    "comms_tables",
    "connector_tables",
    "event_tables",
    "import_tables",
    "ledger_tables",
    "limits_tables",
    "member_tables",
    "metadata",
    "onboarding_tables",
    "pass_tables",
    "product_tables",
    "purchase_tables",
    "reward_tables",
    "rule_tables",
    "survey_tables",
    "tenancy_tables",
    "ticket_tables",
    "tier_tables",
    "till_file_tables",
]
