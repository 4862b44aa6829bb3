"""`orders.verdict_status`: the status of each order's verdict on the order itself, with a
(tenant, verdict_status, order_date) index, so the console's counts by verdict and its verdict
filter read one index instead of joining every order of a tenant with its verdict (issue 17:
the orders page at 100,000 orders in < 200 ms). Filled from `verdicts` here; kept by
`tracking.store.verdicts.recompute_verdicts`, the one write path of verdicts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: SQLite adds it by ALTER TABLE ADD COLUMN (no table
    # copy), PostgreSQL without rewriting the table.
    op.add_column("orders", sa.Column("verdict_status", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE orders SET verdict_status ="
        " (SELECT verdicts.status FROM verdicts WHERE verdicts.order_pk = orders.id)"
        " WHERE EXISTS (SELECT 1 FROM verdicts WHERE verdicts.order_pk = orders.id)"
    )
    op.create_index(
        "ix_orders_tenant_verdict_date", "orders", ["tenant", "verdict_status", "order_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_orders_tenant_verdict_date", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("verdict_status")
