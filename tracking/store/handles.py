"""Typed handles on the SQLModel tables, for SQLAlchemy Core statements.

`Model.__table__` is untyped on SQLModel classes (mypy sees no such attribute); `table_of`
reads the same `Table` through SQLAlchemy's public inspection API and checks its type once,
so callers get a `Table` without silencing mypy. The named handles are in `tracking.store.tables`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

__all__ = ["table_of"]


def table_of(model: type[SQLModel]) -> sa.Table:
    """The `Table` a SQLModel table class maps (raises TypeError for a non-table model)."""
    table = sa.inspect(model).local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table
