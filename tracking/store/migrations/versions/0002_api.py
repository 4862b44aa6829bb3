"""HTTP API: keys, jobs, webhooks, deliveries, attempts, state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import tracking.store.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, tracking.store.tables.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        _utc("created_at"),
        _utc("last_used_at", nullable=True),
        _utc("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_sha256", name="uq_api_keys_key_sha256"),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])

    op.create_table(
        "api_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", sa.String(), nullable=False),
        sa.Column("progress", sa.String(), nullable=False),
        sa.Column("result", sa.String(), nullable=True),
        sa.Column("error", sa.String(length=2048), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _utc("created_at"),
        _utc("started_at", nullable=True),
        _utc("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_jobs_tenant", "api_jobs", ["tenant"])
    op.create_index("ix_api_jobs_status_created", "api_jobs", ["status", "created_at"])

    op.create_table(
        "api_webhooks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("events", sa.String(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        _utc("created_at"),
        _utc("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_webhooks_tenant", "api_webhooks", ["tenant"])

    op.create_table(
        "api_webhook_deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _utc("next_attempt_at", nullable=True),
        _utc("last_attempt_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=1024), nullable=True),
        _utc("created_at"),
        _utc("delivered_at", nullable=True),
        _utc("replay_requested_at", nullable=True),
        sa.ForeignKeyConstraint(["webhook_id"], ["api_webhooks.id"]),
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
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        _utc("attempted_at"),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1024), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_excerpt", sa.String(length=1024), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["api_webhook_deliveries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_webhook_attempts_delivery_id", "api_webhook_attempts", ["delivery_id"])

    op.create_table(
        "api_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("api_state")
    op.drop_index("ix_api_webhook_attempts_delivery_id", table_name="api_webhook_attempts")
    op.drop_table("api_webhook_attempts")
    op.drop_index("ix_api_webhook_deliveries_due", table_name="api_webhook_deliveries")
    op.drop_index("ix_api_webhook_deliveries_webhook_id", table_name="api_webhook_deliveries")
    op.drop_table("api_webhook_deliveries")
    op.drop_index("ix_api_webhooks_tenant", table_name="api_webhooks")
    op.drop_table("api_webhooks")
    op.drop_index("ix_api_jobs_status_created", table_name="api_jobs")
    op.drop_index("ix_api_jobs_tenant", table_name="api_jobs")
    op.drop_table("api_jobs")
    op.drop_index("ix_api_keys_prefix", table_name="api_keys")
    op.drop_index("ix_api_keys_tenant", table_name="api_keys")
    op.drop_table("api_keys")
