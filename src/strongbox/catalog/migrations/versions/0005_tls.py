"""TLS settings of databases: ssl_mode and the CA certificates that verify the server.

Storages keep their ca_bundle with their other S3 settings (a JSON column), so they need no
change here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("databases") as batch:
        batch.add_column(
            sa.Column("ssl_mode", sa.String(length=16), nullable=False, server_default="prefer")
        )
        batch.add_column(sa.Column("ssl_ca", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("databases") as batch:
        batch.drop_column("ssl_ca")
        batch.drop_column("ssl_mode")
