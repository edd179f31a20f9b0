"""The CSV drop's log: one row per file a till exported and the business handed over, by upload
in the console or through a watched folder, with its import run and what was refused."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, String, Table, Text

from lealtad.db.metadata import Id, business_column, id_column, metadata

till_files = Table(
    "till_files",
    metadata,
    id_column(),
    business_column(),
    # "upload" (the console) or "folder" (`lealtad connectors watch`).
    Column("source", String(10), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("received_at", DateTime, nullable=False),
    # Who handed it over: the staff member's actor, or the operating-system user of the CLI.
    Column("actor", String(200), nullable=False),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=True),
    # The import run that read it; none when the file was refused whole.
    Column("run_id", Id, ForeignKey("import_runs.id"), nullable=True),
    # loaded (every row in or already there), with_rejects, or refused (nothing read).
    Column("outcome", String(20), nullable=False),
    Column("error_code", String(60), nullable=True),
    # The importer's own words for a refused file (English / Spanish).
    Column("problem", String(1000), nullable=True),
    # The rejects file as the importer wrote it (line, reason, the row), for the console's
    # download; kept up to a size, beyond which `rejects_cut` says the list is the first part.
    Column("rejects", Text, nullable=True),
    Column("rejects_cut", Boolean, nullable=False, default=False),
    Index("ix_till_files_business_received", "business_id", "received_at"),
)
