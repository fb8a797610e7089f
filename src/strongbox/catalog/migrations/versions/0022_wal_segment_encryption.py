"""The age recipients each stored WAL or binlog file is encrypted to (none: stored plain).

Revision ID: 0022
Revises: 0017
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wal_segments") as batch:
        batch.add_column(sa.Column("encrypted_to", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wal_segments") as batch:
        batch.drop_column("encrypted_to")
