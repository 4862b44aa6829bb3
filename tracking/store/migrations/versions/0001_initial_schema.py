"""initial schema"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from tracking.store.migrations.columns import fk, integer, string, utc

revision = "0001"
down_revision = None


def _judgement() -> tuple[sa.Column[Any] | sa.ForeignKeyConstraint, ...]:
    """What `verdicts` (the latest) and `verdict_history` (every change) say of an order."""
    return (
        string("status", 16),
        string("policy", 32),
        string("milestones"),
        string("findings"),
        string("digest", 64),
        utc("computed_at"),
        fk("order_pk", "orders.id"),
    )


def upgrade() -> None:
    op.create_table(
        "exchange_bodies",
        string("sha256", 64),
        integer("size"),
        string("encoding", 16),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "runs",
        string("id", 36),
        string("kind", 16),
        string("source", 1024),
        utc("started_at"),
        utc("finished_at", nullable=True),
        string("status", 16),
        string("stats"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "shipments",
        integer("id"),
        string("carrier", 32),
        string("tracking_number", 64),
        integer("parent_id", nullable=True),
        string("role", 16),
        string("carrier_name", 128),
        string("state", 16),
        string("carrier_status", 128),
        string("latest_stage", 32, nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        string("origin_country", 2, nullable=True),
        string("destination_country", 2, nullable=True),
        string("error_kind", 32, nullable=True),
        string("error_message", 1024, nullable=True),
        integer("poll_count"),
        utc("created_at"),
        utc("first_fetched_at", nullable=True),
        utc("last_fetched_at", nullable=True),
        utc("last_event_at", nullable=True),
        utc("not_found_since", nullable=True),
        utc("next_poll_at", nullable=True),
        fk("parent_id", "shipments.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("carrier", "tracking_number", name="uq_shipment_carrier_number"),
    )
    op.create_index("ix_shipments_due", "shipments", ["next_poll_at"])
    op.create_index("ix_shipments_parent_id", "shipments", ["parent_id"])
    op.create_index("ix_shipments_tracking_number", "shipments", ["tracking_number"])

    op.create_table(
        "exchanges",
        integer("id"),
        string("carrier", 32),
        string("adapter_version", 64),
        string("method", 8),
        string("url", 4096),
        sa.Column("request_body", sa.LargeBinary(), nullable=True),
        integer("status"),
        string("headers"),
        string("body_sha256", 64),
        utc("fetched_at"),
        string("run_id", 36, nullable=True),
        fk("body_sha256", "exchange_bodies.sha256"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exchanges_body_sha256", "exchanges", ["body_sha256"])
    op.create_index("ix_exchanges_carrier", "exchanges", ["carrier"])

    op.create_table(
        "orders",
        integer("id"),
        string("tenant", 128),
        string("order_id", 512),
        string("marketplace", 64),
        utc("order_date"),
        utc("ship_date", nullable=True),
        string("tracking_number", 64),
        string("carrier", 32, nullable=True),
        string("carrier_declared", 256),
        string("carrier_source", 16),
        string("destination_country", 2),
        string("destination_postal_code", 32),
        string("destination_city", 128),
        sa.Column("order_value", sa.Numeric(precision=14, scale=2), nullable=True),
        string("currency", 3),
        integer("shipment_id", nullable=True),
        string("source", 1024),
        string("last_run_id", 36, nullable=True),
        utc("created_at"),
        utc("updated_at"),
        fk("shipment_id", "shipments.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "order_id", name="uq_order_tenant_id"),
    )
    op.create_index("ix_orders_last_run_id", "orders", ["last_run_id"])
    op.create_index("ix_orders_shipment_id", "orders", ["shipment_id"])
    op.create_index("ix_orders_tenant_date", "orders", ["tenant", "order_date"])
    op.create_index("ix_orders_tracking_number", "orders", ["tracking_number"])

    op.create_table(
        "events",
        integer("id"),
        integer("shipment_id"),
        string("dedup_key", 40),
        string("stage", 32),
        string("code", 128),
        string("description"),
        string("location", 512),
        string("country", 2, nullable=True),
        utc("occurred_at"),
        integer("local_offset", nullable=True),
        string("time_source", 24),
        string("raw_time", 128),
        integer("exchange_id"),
        utc("first_seen_at"),
        fk("exchange_id", "exchanges.id"),
        fk("shipment_id", "shipments.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_id", "dedup_key", name="uq_event_identity"),
    )
    op.create_index("ix_events_shipment_id", "events", ["shipment_id"])

    op.create_table(
        "exchange_shipments",
        integer("exchange_id"),
        integer("shipment_id"),
        fk("exchange_id", "exchanges.id"),
        fk("shipment_id", "shipments.id"),
        sa.PrimaryKeyConstraint("exchange_id", "shipment_id"),
    )
    op.create_index("ix_exchange_shipments_shipment_id", "exchange_shipments", ["shipment_id"])

    op.create_table(
        "verdict_history",
        integer("id"),
        integer("order_pk"),
        *_judgement(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verdict_history_order_pk", "verdict_history", ["order_pk"])

    op.create_table(
        "verdicts",
        integer("order_pk"),
        *_judgement(),
        sa.PrimaryKeyConstraint("order_pk"),
    )
    op.create_index("ix_verdicts_status", "verdicts", ["status"])


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in (
        "verdicts",
        "verdict_history",
        "exchange_shipments",
        "events",
        "orders",
        "exchanges",
        "shipments",
        "runs",
        "exchange_bodies",
    ):
        op.drop_table(table)
