"""The read side's own tables: counters rolled up as purchases, enrolments and ledger entries are
written, one row of figures per member, model snapshots, experiments and report settings."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)

from lealtad.db.metadata import Id, business_column, id_column, metadata

# One row per business, local day, metric, dimension, location and staff member (0 = none), and
# shard: concurrent writers on PostgreSQL add to different shards of the same figure instead of
# queueing on one row; readers sum over shards (decisions D25).
counters = Table(
    "analytics_counters",
    metadata,
    Column("business_id", Id, ForeignKey("businesses.id"), nullable=False),
    Column("metric", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("dim", String(64), nullable=False),
    Column("location_id", Id, nullable=False),
    Column("staff_id", Id, nullable=False),
    Column("shard", SmallInteger, nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("business_id", "metric", "day", "dim", "location_id", "staff_id", "shard"),
)

# What each member has done, kept current with every purchase and reward, plus the scores the
# nightly refresh writes (RFM, segment, predicted value).
member_stats = Table(
    "member_stats",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True, autoincrement=False),
    business_column(),
    Column("enrolled_on", Date, nullable=False),
    Column("enrolled_location_id", Id, nullable=False),
    Column("first_purchase_at", DateTime, nullable=True),
    Column("last_purchase_at", DateTime, nullable=True),
    Column("last_day", Date, nullable=True),
    Column("purchases", Integer, nullable=False),
    # Distinct local days with a purchase: the "visits" of frequency and of the value models.
    Column("visit_days", Integer, nullable=False),
    Column("spend", BigInteger, nullable=False),
    Column("first_reward_at", DateTime, nullable=True),
    # Bit w-1 set once the member has come back in days 30(w-1)+1 .. 30w after enrolling.
    Column("retention_mask", SmallInteger, nullable=False),
    Column("recency_score", SmallInteger, nullable=True),
    Column("frequency_score", SmallInteger, nullable=True),
    Column("monetary_score", SmallInteger, nullable=True),
    Column("segment", String(32), nullable=True),
    Column("p_alive", Float, nullable=True),
    Column("expected_visits", Float, nullable=True),
    Column("predicted_value", BigInteger, nullable=True),
    Column("scored_at", DateTime, nullable=True),
    Index("ix_member_stats_recent", "business_id", "last_purchase_at"),
    Index("ix_member_stats_spend", "business_id", "spend"),
    Index("ix_member_stats_segment", "business_id", "segment"),
    # The customers page lists the highest predicted values first.
    Index("ix_member_stats_value", "business_id", "predicted_value"),
)

# The latest output of a batch computation (segments, Pareto, value model) for the dashboard.
snapshots = Table(
    "analytics_snapshots",
    metadata,
    business_column(),
    Column("kind", String(32), nullable=False),
    Column("computed_at", DateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    PrimaryKeyConstraint("business_id", "kind"),
)

experiments = Table(
    "experiments",
    metadata,
    id_column(),
    business_column(),
    Column("slug", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("hypothesis", String(1000), nullable=False),
    # [[arm, weight], ...]; the first arm is the control.
    Column("arms", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("starts_at", DateTime, nullable=False),
    Column("ends_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index("uq_experiments_business_slug", "business_id", "slug", unique=True),
)

analytics_settings = Table(
    "analytics_settings",
    metadata,
    Column("business_id", Id, ForeignKey("businesses.id"), primary_key=True, autoincrement=False),
    Column("enrolment_goal", Integer, nullable=False),
    # {"daily": [...emails], "weekly": [...], "monthly": [...]}
    Column("reports", JSON, nullable=False),
    # {"daily": "2026-11-22", ...}: the last period each report covered, so none goes twice.
    Column("reports_sent", JSON, nullable=False),
)
