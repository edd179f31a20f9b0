"""The rewards catalog, the vouchers members redeem, ratings, causes and donations, and the
gamification records (challenges and badges)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from lealtad.db.metadata import Id, business_column, id_column, metadata

rewards = Table(
    "rewards",
    metadata,
    id_column(),
    business_column(),
    Column("slug", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title", JSON, nullable=False),
    Column("description", JSON, nullable=False),
    # What redeeming costs: a ledger unit ("points", "stamps.<card>", "reward.<slug>") and amount.
    Column("cost_unit", String(64), nullable=False),
    Column("cost", BigInteger, nullable=False),
    # Discount or credit in minor units, or a percent for percent discounts.
    Column("value", BigInteger, nullable=False),
    Column("sku", String(100), nullable=True),
    # Null is unlimited; otherwise decremented under a row lock on every redemption.
    Column("stock", Integer, nullable=True),
    Column("valid_from", DateTime, nullable=True),
    Column("valid_until", DateTime, nullable=True),
    Column("limit_per_member", Integer, nullable=True),
    Column("limit_period", String(16), nullable=False),
    Column("visible_tiers", JSON, nullable=False),
    Column("visible_segments", JSON, nullable=False),
    Column("featured", Boolean, nullable=False),
    Column("image_url", String(500), nullable=True),
    Column("voucher_days", Integer, nullable=False),
    Column("on_expiry", String(8), nullable=False),
    Column("cause_id", Id, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("rating_count", Integer, nullable=False),
    Column("rating_total", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_rewards_business_slug", "business_id", "slug", unique=True),
)

vouchers = Table(
    "vouchers",
    metadata,
    id_column(),
    business_column(),
    Column("code", String(20), nullable=False),
    Column("reward_id", Id, ForeignKey("rewards.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("cost_unit", String(64), nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("used_at", DateTime, nullable=True),
    Column("used_location_id", Id, nullable=True),
    Column("used_by", String(100), nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("fulfilment", String(16), nullable=True),
    Index("uq_vouchers_business_code", "business_id", "code", unique=True),
    Index("ix_vouchers_member", "business_id", "member_id", "reward_id", "issued_at"),
    Index("ix_vouchers_open", "business_id", "status", "expires_at"),
)

ratings = Table(
    "reward_ratings",
    metadata,
    id_column(),
    business_column(),
    Column("reward_id", Id, ForeignKey("rewards.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("stars", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("hidden", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_reward_ratings_member", "business_id", "reward_id", "member_id", unique=True),
)

causes = Table(
    "causes",
    metadata,
    id_column(),
    business_column(),
    Column("name", JSON, nullable=False),
    Column("description", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

donations = Table(
    "donations",
    metadata,
    id_column(),
    business_column(),
    Column("cause_id", Id, ForeignKey("causes.id"), nullable=False, index=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

challenges = Table(
    "challenges",
    metadata,
    id_column(),
    business_column(),
    Column("slug", String(40), nullable=False),
    Column("title", JSON, nullable=False),
    # What counts: "purchases", "visits", "spend", "event:<name>", or "streak_weeks".
    Column("metric", String(80), nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("period", String(16), nullable=False),
    Column("bonus_points", BigInteger, nullable=False),
    Column("badge", String(40), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_challenges_business_slug", "business_id", "slug", unique=True),
)

badges = Table(
    "member_badges",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("badge", String(40), nullable=False),
    Column("challenge_id", Id, ForeignKey("challenges.id"), nullable=True),
    # The challenge period the badge was earned in, so a weekly challenge pays once a week.
    Column("period_key", String(32), nullable=False),
    Column("earned_at", DateTime, nullable=False),
    Index(
        "uq_member_badges_once",
        "business_id",
        "member_id",
        "challenge_id",
        "period_key",
        unique=True,
    ),
)
