"""Point-in-time recovery of MySQL/MariaDB: binlog files in the change-log index, and the server
id a stream's binlog reader connects with.

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pitr_streams") as batch:
        batch.add_column(sa.Column("connection_server_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("wal_segments") as batch:
        batch.add_column(sa.Column("server_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("first_gtid", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("last_gtid", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wal_segments") as batch:
        batch.drop_column("last_gtid")
        batch.drop_column("first_gtid")
        batch.drop_column("server_id")
    with op.batch_alter_table("pitr_streams") as batch:
        batch.drop_column("connection_server_id")
