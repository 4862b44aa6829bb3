"""Scale-out: an index for never-polled shipments, shared rate-limit slots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tracking.store.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Never-polled shipments have no next_poll_at: a partial index finds them without a scan
    # (ix_shipments_due serves every other due shipment).
    op.create_index(
        "ix_shipments_new",
        "shipments",
        ["carrier", "id"],
        postgresql_where=sa.text("state = 'new'"),
        sqlite_where=sa.text("state = 'new'"),
    )
    # One row per carrier: the next free request slot (GCRA), shared by every worker
    # (tracking/fetch/limits.py PostgresRateLimiter).
    op.create_table(
        "rate_slots",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("tat", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
    op.drop_index("ix_shipments_new", table_name="shipments")
