"""The console's sessions and one-time sign-in links (tracking/store/console_sessions.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import tracking.store.storage

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, tracking.store.storage.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        _utc("created_at"),
        _utc("expires_at"),
        sa.PrimaryKeyConstraint("id_sha256"),
    )
    op.create_index("ix_console_sessions_tenant", "console_sessions", ["tenant"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "console_links",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        _utc("created_at"),
        _utc("expires_at"),
        _utc("used_at", nullable=True),
        sa.PrimaryKeyConstraint("token_sha256"),
    )


def downgrade() -> None:
    op.drop_table("console_links")
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_index("ix_console_sessions_tenant", table_name="console_sessions")
    op.drop_table("console_sessions")
