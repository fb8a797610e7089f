"""Point-in-time recovery: a stream remembers WAL its server removed before it was received.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pitr_streams") as batch:
        batch.add_column(sa.Column("slot_gap", sa.Text(), nullable=True))
        batch.add_column(sa.Column("slot_gap_to_lsn", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pitr_streams") as batch:
        batch.drop_column("slot_gap_to_lsn")
        batch.drop_column("slot_gap")
