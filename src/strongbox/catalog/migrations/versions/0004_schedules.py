"""Schedules, their runs, and what databases need for schedule analysis.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from strongbox.catalog.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("database", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("storage", sa.String(length=63), nullable=False),
        sa.Column("cron", sa.String(length=255), nullable=False),
        sa.Column("frequency", sa.JSON(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("retention_copies", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("on_overlap", sa.String(length=16), nullable=False),
        sa.Column("slots_since", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_schedules_database_name", "schedules", ["database", "name"], unique=True)
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("slot_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("backup", sa.String(length=63), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_schedule_runs_slot", "schedule_runs", ["schedule_id", "slot_at"], unique=True
    )
    with op.batch_alter_table("databases") as batch:
        batch.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("production_hours", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("databases") as batch:
        batch.drop_column("production_hours")
        batch.drop_column("size_bytes")
    op.drop_index("ux_schedule_runs_slot", table_name="schedule_runs")
    op.drop_table("schedule_runs")
    op.drop_index("ux_schedules_database_name", table_name="schedules")
    op.drop_table("schedules")
