"""A/B experiments, their exposure log, and the logging propensity of served lists.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("stopped_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_experiments_status", "experiments", ["dataset", "status"])
    op.create_table(
        "exposures",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.String(32), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("propensity", sa.Float, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_exposures_experiment", "exposures", ["experiment_id", "id"])
    op.create_index("ix_exposures_request_id", "exposures", ["request_id"])
    with op.batch_alter_table("impression_lists") as batch:
        batch.add_column(sa.Column("propensity", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("impression_lists") as batch:
        batch.drop_column("propensity")
    op.drop_index("ix_exposures_request_id", table_name="exposures")
    op.drop_index("ix_exposures_experiment", table_name="exposures")
    op.drop_table("exposures")
    op.drop_index("ix_experiments_status", table_name="experiments")
    op.drop_table("experiments")
