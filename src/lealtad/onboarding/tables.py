"""Where a business's guided set-up stands: a row while the owner goes through it, kept (with
when it finished) afterwards. A business without a row was set up another way (the demo, the
API, a template from the command line)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, String, Table

from lealtad.db.metadata import Id, metadata

setups = Table(
    "business_setups",
    metadata,
    # One row per business: the business is the key.
    Column("business_id", Id, ForeignKey("businesses.id"), primary_key=True, autoincrement=False),
    Column("step", String(16), nullable=False),  # the furthest step reached
    Column("answers", JSON, nullable=False),  # {"template": ..., "numbers": {...}}
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
)
