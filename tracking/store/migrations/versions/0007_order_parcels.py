"""Orders and parcels: `order_parcels` holds each further parcel of a split order, and
`orders.parcel_group` says how the export groups an order's parcel with other orders'.

The order's own tracking number stays its first parcel; a split order's other tracking numbers
(several distinct numbers for one store and order id in the export) are tracked and judged too.
A parcel the export marks as merged for several orders of one store (an ERP merge flag, or the
same package id) is a `number.merged` warning instead of a `number.shared` error.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracking.store.migrations.columns import string, utc

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "order_parcels",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("order_pk", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        string("tracking_number", 64),
        string("carrier", 32, nullable=True),
        string("carrier_declared", 256),
        string("carrier_source", 32),
        sa.Column("shipment_id", sa.Integer(), sa.ForeignKey("shipments.id"), nullable=True),
        string("source", 1024),
        utc("created_at"),
        utc("updated_at"),
        sa.UniqueConstraint("order_pk", "tracking_number", name="uq_order_parcel_number"),
    )
    op.create_index("ix_order_parcels_order_pk", "order_parcels", ["order_pk"])
    op.create_index("ix_order_parcels_shipment_id", "order_parcels", ["shipment_id"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("parcel_group", sa.String(length=160), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("parcel_group")
    op.drop_index("ix_order_parcels_shipment_id", table_name="order_parcels")
    op.drop_index("ix_order_parcels_order_pk", table_name="order_parcels")
    op.drop_table("order_parcels")
