"""Program versions, the awards each rule made (provenance, caps) and rule budgets."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from lealtad.db.metadata import Id, business_column, id_column, metadata

program_versions = Table(
    "program_versions",
    metadata,
    id_column(),
    business_column(),
    Column("version", Integer, nullable=False),
    # A purchase is evaluated with the version whose effective_from is the latest not after it.
    Column("effective_from", DateTime, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("author", String(100), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("diff", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # The version dated before this one that replaced it while it had earned nothing (D65): it
    # stays in the change log and is never in force.
    Column("superseded_by", Integer, nullable=True),
    Index("uq_program_versions_business_version", "business_id", "version", unique=True),
    Index("ix_program_versions_business_effective", "business_id", "effective_from"),
)

awards = Table(
    "awards",
    metadata,
    id_column(),
    business_column(),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("program_version", Integer, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("purchase_id", Id, nullable=True, index=True),
    Column("occurred_at", DateTime, nullable=False),
    Index("ix_awards_caps", "business_id", "member_id", "rule_id", "occurred_at"),
)

rule_budgets = Table(
    "rule_budgets",
    metadata,
    business_column(),
    # A rule keeps its budget across program versions: the id names the promotion.
    Column("rule_id", String(64), nullable=False),
    Column("spent", BigInteger, nullable=False),
    PrimaryKeyConstraint("business_id", "rule_id"),
)
