"""What a backup may take from production: per-database rate cap, lock timeout and backup
source; on each backup the source it read and the load it measured there.

Revision ID: 0010
Revises: 0011
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("databases") as batch:
        batch.add_column(sa.Column("max_rate_mb_per_s", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("lock_timeout_seconds", sa.Integer(), nullable=False, server_default="60")
        )
        batch.add_column(sa.Column("backup_source", sa.JSON(), nullable=True))
    with op.batch_alter_table("backups") as batch:
        batch.add_column(sa.Column("source", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("source_load", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        batch.drop_column("source_load")
        batch.drop_column("source")
    with op.batch_alter_table("databases") as batch:
        batch.drop_column("backup_source")
        batch.drop_column("lock_timeout_seconds")
        batch.drop_column("max_rate_mb_per_s")
