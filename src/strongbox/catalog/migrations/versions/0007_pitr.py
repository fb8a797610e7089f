"""Point-in-time recovery: one stream per database, and the index of its stored WAL files.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pitr_streams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("database", sa.String(length=63), nullable=False, unique=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("storage", sa.String(length=63), nullable=False),
        sa.Column("upload_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("slot_name", sa.String(length=63), nullable=True),
        sa.Column("lag_seconds", sa.Float(), nullable=True),
        sa.Column("last_upload_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "wal_segments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("database", sa.String(length=63), nullable=False),
        sa.Column("storage", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("timeline", sa.Integer(), nullable=False),
        sa.Column("start_lsn", sa.BigInteger(), nullable=False),
        sa.Column("end_lsn", sa.BigInteger(), nullable=False),
        sa.Column("first_commit_at", UTCDateTime(), nullable=True),
        sa.Column("last_commit_at", UTCDateTime(), nullable=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ux_wal_segments_file", "wal_segments", ["database", "storage", "name"], unique=True
    )
    op.create_index("ix_wal_segments_range", "wal_segments", ["database", "timeline", "start_lsn"])


def downgrade() -> None:
    op.drop_index("ix_wal_segments_range", table_name="wal_segments")
    op.drop_index("ux_wal_segments_file", table_name="wal_segments")
    op.drop_table("wal_segments")
    op.drop_table("pitr_streams")
