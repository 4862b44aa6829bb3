"""`orders.carrier_source` takes 32 characters: `declared_mismatch` (17) did not fit the 16 it
had, so on PostgreSQL an order whose declared carrier contradicts its number failed to store
(SQLite does not enforce the length, which is how it went unseen).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    _carrier_source_length(16, 32)


def downgrade() -> None:
    _carrier_source_length(32, 16)


def _carrier_source_length(old: int, new: int) -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "carrier_source",
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=False,
        )
