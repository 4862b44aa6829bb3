"""The engine factory and transactions: SQLite (WAL, busy timeout) or PostgreSQL.

SQLite is the default (one file, no server); PostgreSQL (`postgresql+psycopg://...`) serves
several workers at scale. `open_engine` migrates the schema (`tracking.store.migrate`) unless
told not to; `transaction` turns SQLite's lock contention into a plain `StorageError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError, StatementError

from tracking.core.exceptions import StorageError
from tracking.core.redaction import install_database_redaction
from tracking.store.migrate import migrate

__all__ = ["libpq_url", "open_engine", "transaction"]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Checkpoint the WAL every 8192 pages (32 MiB) rather than 1000: a pull commits often, and
    # each checkpoint copies pages back and syncs the database file.
    cursor.execute("PRAGMA wal_autocheckpoint=8192")
    cursor.close()


def open_engine(url: str, *, migrate_schema: bool = True) -> Engine:
    """An engine for `url` with the schema migrated to the latest revision.

    Raises `StorageError` with a plain message when the database cannot be opened.
    """
    try:
        if url.startswith("sqlite"):
            path = sa.engine.make_url(url).database
            if path and path != ":memory:":
                parent = Path(path).expanduser().resolve().parent
                if not parent.is_dir():
                    raise StorageError(f"database folder {parent} does not exist")
            engine = sa.create_engine(url, connect_args={"timeout": 30, "cached_statements": 32})
            sa_event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        install_database_redaction(engine)  # no registered secret is ever written
        if migrate_schema:
            migrate(engine)
        return engine
    except StorageError:
        raise
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"cannot open database {_safe_url(url)}: {_first_line(exc)}") from exc


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid URL>"


def _first_line(exc: BaseException) -> str:
    """The first line of a database error's own message (never a traceback)."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction; SQLite's lock contention becomes a `StorageError`.

    A value no column accepts (a naive datetime: `tracking.store.columns.UTCDateTime`) is a
    bug of the caller: its `ValueError` is raised as is, not wrapped by SQLAlchemy.
    """
    try:
        with engine.begin() as connection:
            yield connection
    except OperationalError as exc:
        raise StorageError(f"database write failed: {_first_line(exc)}") from exc
    except StatementError as exc:
        if isinstance(exc.orig, ValueError):
            raise exc.orig from exc
        raise


def libpq_url(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (`postgresql+psycopg://` -> `postgresql://`)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
