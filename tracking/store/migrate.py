"""Schema migrations: every Alembic revision of `tracking/store/migrations` not yet applied.

Idempotent and safe to run from several processes at once (PostgreSQL: an advisory lock;
SQLite: one writer at a time, with the 12-step table-change procedure's foreign key check).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracking.core.exceptions import StorageError
from tracking.store.statistics import optimize_after_migration

__all__ = ["migrate"]


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied (idempotent, safe to run concurrently)."""
    from alembic import command
    from alembic.config import Config

    script_location = Path(__file__).resolve().parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if engine.dialect.name == "sqlite":
        _migrate_sqlite(engine, config)
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # One migrator at a time when several workers start together.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(7317001)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _migrate_sqlite(engine: Engine, config: Any) -> None:
    """SQLite's way to change a table (https://www.sqlite.org/lang_altertable.html, the
    12-step procedure): foreign keys off outside the transaction, the table copied, the keys
    checked with `PRAGMA foreign_key_check` before commit, then foreign keys back on.
    """
    from alembic import command

    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise StorageError(f"migration broke a foreign key in table {broken[0]}")
                optimize_after_migration(connection)
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
