"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tracking.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_bodies",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("started_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stats", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("carrier_name", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("carrier_status", sa.String(length=128), nullable=False),
        sa.Column("latest_stage", sa.String(length=32), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("origin_country", sa.String(length=2), nullable=True),
        sa.Column("destination_country", sa.String(length=2), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.String(length=1024), nullable=True),
        sa.Column("poll_count", sa.Integer(), nullable=False),
        sa.Column("created_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "first_fetched_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_fetched_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_event_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "not_found_since", tracking.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("next_poll_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["shipments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("carrier", "tracking_number", name="uq_shipment_carrier_number"),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("ix_shipments_due", ["next_poll_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_shipments_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shipments_tracking_number"), ["tracking_number"], unique=False
        )

    op.create_table(
        "exchanges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("adapter_version", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=4096), nullable=False),
        sa.Column("request_body", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.String(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["body_sha256"],
            ["exchange_bodies.sha256"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchanges_body_sha256"), ["body_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchanges_carrier"), ["carrier"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=512), nullable=False),
        sa.Column("marketplace", sa.String(length=64), nullable=False),
        sa.Column("order_date", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ship_date", tracking.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("carrier_declared", sa.String(length=256), nullable=False),
        sa.Column("carrier_source", sa.String(length=16), nullable=False),
        sa.Column("destination_country", sa.String(length=2), nullable=False),
        sa.Column("destination_postal_code", sa.String(length=32), nullable=False),
        sa.Column("destination_city", sa.String(length=128), nullable=False),
        sa.Column("order_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "order_id", name="uq_order_tenant_id"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_last_run_id"), ["last_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_shipment_id"), ["shipment_id"], unique=False)
        batch_op.create_index("ix_orders_tenant_date", ["tenant", "order_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_orders_tracking_number"), ["tracking_number"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("location", sa.String(length=512), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("occurred_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("local_offset", sa.Integer(), nullable=True),
        sa.Column("time_source", sa.String(length=24), nullable=False),
        sa.Column("raw_time", sa.String(length=128), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column(
            "first_seen_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_id", "dedup_key", name="uq_event_identity"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_shipment_id"), ["shipment_id"], unique=False)

    op.create_table(
        "exchange_shipments",
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
        ),
        sa.PrimaryKeyConstraint("exchange_id", "shipment_id"),
    )
    with op.batch_alter_table("exchange_shipments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_shipments_shipment_id"), ["shipment_id"], unique=False
        )

    op.create_table(
        "verdict_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("milestones", sa.String(), nullable=False),
        sa.Column("findings", sa.String(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("computed_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_pk"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verdict_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verdict_history_order_pk"), ["order_pk"], unique=False)

    op.create_table(
        "verdicts",
        sa.Column("order_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("milestones", sa.String(), nullable=False),
        sa.Column("findings", sa.String(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("computed_at", tracking.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_pk"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("order_pk"),
    )
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verdicts_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verdicts_status"))

    op.drop_table("verdicts")
    with op.batch_alter_table("verdict_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verdict_history_order_pk"))

    op.drop_table("verdict_history")
    with op.batch_alter_table("exchange_shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_shipments_shipment_id"))

    op.drop_table("exchange_shipments")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_shipment_id"))

    op.drop_table("events")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_tracking_number"))
        batch_op.drop_index("ix_orders_tenant_date")
        batch_op.drop_index(batch_op.f("ix_orders_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_orders_last_run_id"))

    op.drop_table("orders")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchanges_carrier"))
        batch_op.drop_index(batch_op.f("ix_exchanges_body_sha256"))

    op.drop_table("exchanges")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_tracking_number"))
        batch_op.drop_index(batch_op.f("ix_shipments_parent_id"))
        batch_op.drop_index("ix_shipments_due")

    op.drop_table("shipments")
    op.drop_table("runs")
    op.drop_table("exchange_bodies")
