"""`orders.carrier_source` takes 32 characters: `declared_mismatch` (17) did not fit the 16 it
had, so on PostgreSQL an order whose declared carrier contradicts its number failed to store
(SQLite does not enforce the length, which is how it went unseen).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "carrier_source",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "carrier_source",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
