"""One row per run of `lealtad import`: what file, how far it got, so a rerun resumes."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from lealtad.db.metadata import business_column, id_column, metadata

import_runs = Table(
    "import_runs",
    metadata,
    id_column(),
    business_column(),
    Column("kind", String(16), nullable=False),
    Column("file_name", String(500), nullable=False),
    # The file is named by its content: a renamed copy resumes, an edited file starts afresh.
    Column("file_sha256", String(64), nullable=False),
    # Data rows consumed and committed (loaded, already there, or rejected), in file order.
    Column("rows_done", Integer, nullable=False, default=0),
    Column("loaded", Integer, nullable=False, default=0),
    Column("already", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Index("ix_import_runs_file", "business_id", "kind", "file_sha256"),
)
