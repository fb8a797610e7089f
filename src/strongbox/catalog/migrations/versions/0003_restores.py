"""Restores.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "restores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("database", sa.String(length=63), nullable=False),
        sa.Column("backup", sa.String(length=63), nullable=False),
        sa.Column("target", sa.String(length=63), nullable=False),
        sa.Column("database_map", sa.JSON(), nullable=False),
        sa.Column("overwrite", sa.Boolean(), nullable=False),
        sa.Column("restore_globals", sa.Boolean(), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("restored_bytes", sa.BigInteger(), nullable=False),
        sa.Column("expected_bytes", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_restores_state", "restores", ["state"], unique=False)
    op.create_index("ux_restores_database_name", "restores", ["database", "name"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_restores_database_name", table_name="restores")
    op.drop_index("ix_restores_state", table_name="restores")
    op.drop_table("restores")
