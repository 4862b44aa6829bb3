"""Events keep one index on shipment_id: the identity constraint's

`uq_event_identity (shipment_id, dedup_key)` already serves every lookup by shipment, so the
separate `ix_events_shipment_id` only cost a second index update per stored event.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_shipment_id")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_index("ix_events_shipment_id", ["shipment_id"], unique=False)
