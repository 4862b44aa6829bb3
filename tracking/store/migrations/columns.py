"""Column and index builders the migrations share.

Migrations are frozen: once released, a revision must build the same schema for ever. These
builders are frozen with them. Change one only by adding a new builder; a migration that needs
something else spells it out.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import tracking.store.tables

__all__ = ["fk", "index_new_shipments", "integer", "string", "utc"]


def utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A timezone-aware UTC timestamp column."""
    return sa.Column(name, tracking.store.tables.UTCDateTime(timezone=True), nullable=nullable)


def string(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[Any]:
    """A text column, bounded to `length` characters when given."""
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def integer(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """An integer column."""
    return sa.Column(name, sa.Integer(), nullable=nullable)


def fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    """A one-column foreign key to `target` ("table.column")."""
    return sa.ForeignKeyConstraint([column], [target])


def index_new_shipments() -> None:
    """`ix_shipments_new`: the never-polled shipments (no next_poll_at) without a scan; a
    partial index on both databases."""
    op.create_index(
        "ix_shipments_new",
        "shipments",
        ["carrier", "id"],
        postgresql_where=sa.text("state = 'new'"),
        sqlite_where=sa.text("state = 'new'"),
    )
