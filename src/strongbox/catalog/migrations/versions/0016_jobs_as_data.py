"""Jobs as data: who claimed a backup or restore, a cancel asked for (who and when), and the
worker queue a database is pinned to.

Revision ID: 0016
Revises: 0022
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0016"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("backups", "restores"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claimed_by", sa.String(255), nullable=True))
            batch.add_column(sa.Column("cancel_requested_at", UTCDateTime(), nullable=True))
            batch.add_column(sa.Column("canceled_by", sa.String(255), nullable=True))
    with op.batch_alter_table("databases") as batch:
        batch.add_column(sa.Column("worker_queue", sa.String(63), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("databases") as batch:
        batch.drop_column("worker_queue")
    for table in ("backups", "restores"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("canceled_by")
            batch.drop_column("cancel_requested_at")
            batch.drop_column("claimed_by")
