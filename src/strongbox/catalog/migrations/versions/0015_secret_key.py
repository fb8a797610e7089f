"""Which key the stored secrets are encrypted with: the scrypt parameters and salt of a
passphrase, and the key's identifier.

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kdf", sa.JSON(), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("secret_key")
