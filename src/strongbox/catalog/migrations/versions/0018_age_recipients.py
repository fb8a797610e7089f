"""Age recipients (public keys) that backups of a storage or a database are encrypted to.

Revision ID: 0018
Revises: 0012
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("storages", "databases"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("age_recipients", sa.JSON(), nullable=False, server_default="[]")
            )


def downgrade() -> None:
    for table in ("storages", "databases"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("age_recipients")
