"""Restores remember whether rows were to be counted exactly (`exact_counts`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("restores") as batch:
        batch.add_column(
            sa.Column("exact_counts", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("restores") as batch:
        batch.drop_column("exact_counts")
