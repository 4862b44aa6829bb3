"""HTTP API: keys, jobs, webhooks, deliveries, attempts, state"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracking.store.migrations.columns import fk, string, utc

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "api_keys",
        string("id", 32),
        string("tenant", 128),
        string("name", 128),
        string("prefix", 32),
        string("key_sha256", 64),
        utc("created_at"),
        utc("last_used_at", nullable=True),
        utc("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_sha256", name="uq_api_keys_key_sha256"),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])

    op.create_table(
        "api_jobs",
        string("id", 36),
        string("tenant", 128),
        string("kind", 16),
        string("status", 16),
        string("params"),
        string("progress"),
        string("result", nullable=True),
        string("error", 2048, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        utc("created_at"),
        utc("started_at", nullable=True),
        utc("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_jobs_tenant", "api_jobs", ["tenant"])
    op.create_index("ix_api_jobs_status_created", "api_jobs", ["status", "created_at"])

    op.create_table(
        "api_webhooks",
        string("id", 32),
        string("tenant", 128),
        string("url", 2048),
        string("events"),
        string("description", 256),
        string("secret", 128),
        utc("created_at"),
        utc("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_webhooks_tenant", "api_webhooks", ["tenant"])

    op.create_table(
        "api_webhook_deliveries",
        string("id", 32),
        string("webhook_id", 32),
        string("tenant", 128),
        string("event_id", 40),
        string("event_type", 32),
        string("payload"),
        string("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        utc("next_attempt_at", nullable=True),
        utc("last_attempt_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        string("last_error", 1024, nullable=True),
        utc("created_at"),
        utc("delivered_at", nullable=True),
        utc("replay_requested_at", nullable=True),
        fk("webhook_id", "api_webhooks.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_api_webhook_deliveries_webhook_id", "api_webhook_deliveries", ["webhook_id"]
    )
    op.create_index(
        "ix_api_webhook_deliveries_due", "api_webhook_deliveries", ["status", "next_attempt_at"]
    )

    op.create_table(
        "api_webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        string("delivery_id", 32),
        utc("attempted_at"),
        sa.Column("status_code", sa.Integer(), nullable=True),
        string("error", 1024, nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        string("response_excerpt", 1024),
        sa.Column("manual", sa.Boolean(), nullable=False),
        fk("delivery_id", "api_webhook_deliveries.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_webhook_attempts_delivery_id", "api_webhook_attempts", ["delivery_id"])

    op.create_table(
        "api_state",
        string("name", 64),
        string("value"),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in (
        "api_state",
        "api_webhook_attempts",
        "api_webhook_deliveries",
        "api_webhooks",
        "api_jobs",
        "api_keys",
    ):
        op.drop_table(table)
