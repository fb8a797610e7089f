"""Watching Strongbox: notification targets, databases' freshness, and an index for pages of
backups.

Revision ID: 0017
Revises: 0019
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0017"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("url_hint", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("database", sa.String(63), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("databases") as batch:
        batch.add_column(sa.Column("freshness_hours", sa.Float(), nullable=True))
        batch.add_column(sa.Column("freshness_breached_at", UTCDateTime(), nullable=True))
    op.create_index("ix_backups_created", "backups", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_backups_created", "backups")
    with op.batch_alter_table("databases") as batch:
        batch.drop_column("freshness_breached_at")
        batch.drop_column("freshness_hours")
    op.drop_table("notification_targets")
