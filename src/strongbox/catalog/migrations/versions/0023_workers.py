"""The processes that run jobs, each with its heartbeat (per-worker heartbeat age); indexes
that walk one database's backups and restores newest first (their pages).

Revision ID: 0023
Revises: 0016
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0023"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_workers_started", "workers", ["started_at", "id"])
    op.create_index("ix_backups_database_created", "backups", ["database", "created_at", "id"])
    op.create_index("ix_restores_database_created", "restores", ["database", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_restores_database_created", table_name="restores")
    op.drop_index("ix_backups_database_created", table_name="backups")
    op.drop_index("ix_workers_started", table_name="workers")
    op.drop_table("workers")
