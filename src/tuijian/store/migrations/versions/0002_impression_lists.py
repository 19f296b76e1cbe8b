"""Impression lists: one row per served recommendation list (items as a JSON array).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "impression_lists",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("model_version", sa.String(128), nullable=True),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
    )
    op.create_index("ix_impression_lists_request_id", "impression_lists", ["request_id"])
    op.create_index("ix_impression_lists_ts", "impression_lists", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_impression_lists_ts", table_name="impression_lists")
    op.drop_index("ix_impression_lists_request_id", table_name="impression_lists")
    op.drop_table("impression_lists")
