"""The console's sessions and one-time sign-in links (tracking/store/console_sessions.py)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracking.store.migrations.columns import string, utc

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        string("id_sha256", 64),
        string("tenant", 128),
        string("key_id", 32, nullable=True),
        string("csrf", 64),
        utc("created_at"),
        utc("expires_at"),
        sa.PrimaryKeyConstraint("id_sha256"),
    )
    op.create_index("ix_console_sessions_tenant", "console_sessions", ["tenant"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "console_links",
        string("token_sha256", 64),
        string("tenant", 128),
        utc("created_at"),
        utc("expires_at"),
        utc("used_at", nullable=True),
        sa.PrimaryKeyConstraint("token_sha256"),
    )


def downgrade() -> None:
    op.drop_table("console_links")
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_index("ix_console_sessions_tenant", table_name="console_sessions")
    op.drop_table("console_sessions")
