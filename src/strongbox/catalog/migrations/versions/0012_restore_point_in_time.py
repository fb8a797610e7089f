"""Restores to a point in time: what was asked (time or latest, base) and what was reached.

Revision ID: 0012
Revises: 0015
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("restores") as batch:
        batch.add_column(sa.Column("point_in_time", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("restores") as batch:
        batch.drop_column("point_in_time")
