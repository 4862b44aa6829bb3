"""API jobs carry a heartbeat, so several API processes can share the jobs table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tracking.store.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_jobs") as batch:
        batch.add_column(
            sa.Column(
                "heartbeat_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_jobs") as batch:
        batch.drop_column("heartbeat_at")
