"""The one write path for SQLite and PostgreSQL: idempotent inserts, upserts, batch inserts.

Every statement is SQLAlchemy Core on the typed handles of `tracking.store.tables`, run with
executemany through the same code on both databases; values are converted by the column
types (`tracking.store.columns.UTCDateTime`), so a type change is made in one place.

* `insert_ignore`: `INSERT ... ON CONFLICT (...) DO NOTHING`, optionally counting the rows
  really inserted: the driver's executemany row count, kept by SQLAlchemy's
  `preserve_rowcount` execution option (docs.sqlalchemy.org/en/20/core/connections.html,
  `Connection.execution_options.params.preserve_rowcount`). sqlite3 sums the changes of
  every parameter set (CPython's `test_rowcount_executemany`), and so does psycopg 3 (checked
  with 3.3; `tests/test_store_writes.py` holds both to it). A `RETURNING` count instead costs
  psycopg 4-5x the CPU: it re-parses each multi-row statement insertmanyvalues renders.
* `upsert`: `INSERT ... ON CONFLICT (...) DO UPDATE SET col = excluded.col`.
* `insert_returning`: a batch insert returning its new keys in the order of the rows
  (SQLAlchemy's "insertmanyvalues" with `sort_by_parameter_order`, on both databases).
* `update_rows`: one `UPDATE ... WHERE key = :key` per row, as one executemany.

`ON CONFLICT` has no dialect-neutral construct in SQLAlchemy: SQLite's and PostgreSQL's
`insert()` both offer `on_conflict_do_nothing` / `on_conflict_do_update` with the same
arguments, and `_dialect_insert` is the only place that picks one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracking.core.exceptions import StorageError

__all__ = ["dumps", "insert_ignore", "insert_returning", "update_rows", "upsert"]

_DIALECT_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def insert_ignore(
    connection: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    count: bool = False,
) -> int:
    """Insert rows, silently skipping those whose `conflict` columns already exist.

    With `count`, return how many rows were new (else 0).
    """
    if not rows:
        return 0
    statement = _insert_ignore_statement(connection.dialect.name, table, tuple(conflict))
    result = connection.execute(statement, list(rows))
    return max(result.rowcount, 0) if count else 0


def upsert(
    connection: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Iterable[str],
) -> None:
    """Insert rows, updating the `update` columns of those that already exist."""
    if not rows:
        return
    statement = _upsert_statement(connection.dialect.name, table, tuple(conflict), tuple(update))
    connection.execute(statement, list(rows))


def insert_returning(
    connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert rows and return their new integer keys, in the order of `rows`."""
    if not rows:
        return []
    statement = _insert_returning_statement(table)
    return [int(key) for key in connection.execute(statement, list(rows)).scalars()]


def update_rows(
    connection: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str,
    columns: Sequence[str],
    increment: Sequence[str] = (),
) -> None:
    """Set `columns` of each row's record (found by `key`), all rows in one executemany.

    Every row maps `key` and each of `columns`; `increment` columns are raised by one.
    """
    if not rows:
        return
    statement = _update_statement(table, key, tuple(columns), tuple(increment))
    connection.execute(
        statement, [{"k_": row[key], **{f"v_{c}": row[c] for c in columns}} for row in rows]
    )


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON (stable digests)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _dialect_insert(dialect: str, table: sa.Table) -> Any:
    """The `insert()` with `ON CONFLICT` support of `dialect` (same API on both)."""
    insert = _DIALECT_INSERTS.get(dialect)
    if insert is None:
        raise StorageError(f"unsupported database dialect {dialect}")
    return insert(table)


# Building an ON CONFLICT statement (its `excluded` columns above all) costs more than
# running it; the few shapes in use are built once per process.
@functools.cache
def _insert_ignore_statement(dialect: str, table: sa.Table, conflict: tuple[str, ...]) -> Any:
    return (
        _dialect_insert(dialect, table)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .execution_options(preserve_rowcount=True)
    )


@functools.cache
def _upsert_statement(
    dialect: str, table: sa.Table, conflict: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    insert = _dialect_insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=list(conflict), set_={c: getattr(insert.excluded, c) for c in update}
    )


@functools.cache
def _insert_returning_statement(table: sa.Table) -> Any:
    (key,) = table.primary_key.columns
    return sa.insert(table).returning(key, sort_by_parameter_order=True)


@functools.cache
def _update_statement(
    table: sa.Table, key: str, columns: tuple[str, ...], increment: tuple[str, ...]
) -> Any:
    values: dict[str, Any] = {c: table.c[c] + 1 for c in increment}
    values.update({c: sa.bindparam(f"v_{c}") for c in columns})
    return sa.update(table).where(table.c[key] == sa.bindparam("k_")).values(values)
