"""API jobs carry a heartbeat, so several API processes can share the jobs table"""

from __future__ import annotations

from alembic import op

from tracking.store.migrations.columns import utc

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("api_jobs") as batch:
        batch.add_column(utc("heartbeat_at", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_jobs") as batch:
        batch.drop_column("heartbeat_at")
