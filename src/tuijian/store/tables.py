"""SQLAlchemy Core table definitions (the query side of the schema).

The schema itself is created and evolved by the Alembic migrations in
``migrations/versions``; ``tests/store`` checks that the two agree.

Timestamps are stored as integer **microseconds since the Unix epoch (UTC)**:
the same on SQLite and PostgreSQL, cheap to insert in bulk and exact.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=True, unique=True),
    Column("user_id", String(128), nullable=False),
    Column("item_id", String(128), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("value", Float, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("text", Text, nullable=True),
    Column("session", String(128), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_events_user_id", "user_id", "id"),
    Index("ix_events_ts", "ts"),
    Index("ix_events_session", "session", "id"),
)

items = Table(
    "items",
    metadata,
    Column("item_id", String(128), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("brand", Text, nullable=False),
    Column("category", Text, nullable=False),  # JSON list, root first
    Column("price", Float, nullable=True),
    Column("attributes", Text, nullable=False),  # JSON object
    Column("updated_at", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(128), primary_key=True),
    Column("attributes", Text, nullable=False),  # JSON object, without the personal fields
    Column("updated_at", BigInteger, nullable=False),
    # AES-GCM token of the personal fields {"email", "name", "address"} (tuijian.privacy.crypto)
    Column("pii", Text, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("key_hash", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False),
    Column("user_id", String(128), nullable=True),
    Column("item_id", String(128), nullable=False),
    Column("position", Integer, nullable=True),
    Column("event", String(32), nullable=False),
    Column("model_version", String(128), nullable=True),
    Column("ts", BigInteger, nullable=False),
    Index("ix_feedback_request_id", "request_id"),
    Index("ix_feedback_ts", "ts"),
)

#: one row per served recommendation list: ``items`` is a JSON array of item ids in position order
#: (``feedback_frame`` expands it into one ``impression`` row per item). A list is one insert instead
#: of ten, which is what keeps impression logging cheap at thousands of responses per second.
impression_lists = Table(
    "impression_lists",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False),
    Column("user_id", String(128), nullable=True),
    Column("model_version", String(128), nullable=True),
    Column("ts", BigInteger, nullable=False),
    Column("items", Text, nullable=False),
    # probability that the logging policy served this list (NULL: a deterministic policy, i.e. 1.0)
    Column("propensity", Float, nullable=True),
    Index("ix_impression_lists_request_id", "request_id"),
    Index("ix_impression_lists_ts", "ts"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("version", String(128), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("path", Text, nullable=False),
    Column("metrics", Text, nullable=False),  # JSON object
    Column("created_at", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
)

#: who did what, when: admin actions and data exports (tuijian.privacy.audit)
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ts", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=True),
    Column("detail", Text, nullable=False),  # JSON object
    Index("ix_audit_log_ts", "ts"),
    Index("ix_audit_log_action", "action", "id"),
)

#: small facts about the stored data, e.g. the fingerprint of the pseudonym key it was written with
privacy_meta = Table(
    "privacy_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: A/B experiments (tuijian.policy.abtest): ``spec`` is the JSON of the fixed design (variants, salt, plan)
experiments = Table(
    "experiments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("spec", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("stopped_at", BigInteger, nullable=True),
    Index("ix_experiments_status", "dataset", "status"),
)

#: one row per request served inside an experiment: which variant served it, with what probability
exposures = Table(
    "exposures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("experiment_id", String(32), nullable=False),
    Column("variant", String(64), nullable=False),
    Column("user_id", String(128), nullable=True),
    Column("request_id", String(64), nullable=False),
    Column("propensity", Float, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Index("ix_exposures_experiment", "experiment_id", "id"),
    Index("ix_exposures_request_id", "request_id"),
)
