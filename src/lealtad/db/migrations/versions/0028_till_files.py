"""Till files: the CSV drop's log of exported files imported by upload or watched folder

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-29 10:00:00

`till_files` keeps one row per file a till exported and the business handed over (uploaded in
the console or dropped in a folder `lealtad connectors watch` reads), with its import run, the
reason a file was refused whole, and its rejected rows for the console's download.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "till_files",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("run_id", Id, nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("problem", sa.String(length=1000), nullable=True),
        sa.Column("rejects", sa.Text(), nullable=True),
        sa.Column("rejects_cut", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name=op.f("fk_till_files_business_id_businesses")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_till_files_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_runs.id"], name=op.f("fk_till_files_run_id_import_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_till_files")),
    )
    with op.batch_alter_table("till_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_till_files_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            "ix_till_files_business_received", ["business_id", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("till_files", schema=None) as batch_op:
        batch_op.drop_index("ix_till_files_business_received")
        batch_op.drop_index(batch_op.f("ix_till_files_business_id"))
    op.drop_table("till_files")
