"""Scale-out: an index for never-polled shipments, shared rate-limit slots"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracking.store.migrations.columns import index_new_shipments, string, utc

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # Never-polled shipments have no next_poll_at: a partial index finds them without a scan
    # (ix_shipments_due serves every other due shipment).
    index_new_shipments()
    # One row per carrier: the next free request slot (GCRA), shared by every worker
    # (tracking/fetch/limits.py PostgresRateLimiter).
    op.create_table(
        "rate_slots",
        string("key", 128),
        utc("tat"),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
    op.drop_index("ix_shipments_new", table_name="shipments")
