"""The one MetaData all domain tables register on; constraint names are fixed so that
migrations are identical on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData
from sqlalchemy.types import TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


def id_column() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def business_column() -> Column[int]:
    """Every row names its business: the tenancy scope and the future shard key."""
    return Column("business_id", Id, ForeignKey("businesses.id"), nullable=False, index=True)
