"""PostgreSQL instances made by restores: the restore's request, and the instances Strongbox
manages.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("restores") as batch:
        batch.add_column(sa.Column("new_instance", sa.JSON(), nullable=True))
    op.create_table(
        "managed_instances",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("database", sa.String(length=63), nullable=False, unique=True),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("os_user", sa.String(length=32), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("server_major", sa.Integer(), nullable=False),
        sa.Column("restore", sa.String(length=63), nullable=False),
        sa.Column("source_database", sa.String(length=63), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("managed_instances")
    with op.batch_alter_table("restores") as batch:
        batch.drop_column("new_instance")
