"""The query planner's statistics: SQLite's ANALYZE after large changes and schema changes.

SQLite keeps no statistics until ANALYZE runs (https://sqlite.org/lang_analyze.html), and
without them its planner guesses: at 100,000 orders the console's search by order id or
tracking number walked the tenant's orders by date (~140 ms) instead of reading two index
ranges (~6 ms after an ANALYZE). SQLite asks applications to run `PRAGMA optimize` after a
schema change and before closing a connection (https://sqlite.org/pragma.html#pragma_optimize),
but before 3.46 (Debian 12 ships 3.40) it only looks at tables the same connection has queried
and re-analyzes a table only once it grew 25-fold, so a store filled by one import stays
without statistics. So the store decides itself, in the writing transaction: after a write of
at least 50 rows (PostgreSQL's autovacuum_analyze_threshold,
https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-STATISTICS), a table
with no statistics, or whose row count doubled or halved since they were taken, is analyzed
again. A full ANALYZE of the orders and verdicts tables costs ~110 ms at 100,000 orders, and
doubling makes the analyses of a growing store a geometric series: about twice that in all,
over an import that takes ~18 s. (An approximate ANALYZE, `PRAGMA analysis_limit=1000`, is
cheaper but estimated 1,001 orders per tenant and left the searches scanning.) PostgreSQL's
autovacuum analyzes by itself; nothing runs there.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

__all__ = ["optimize_after_migration", "refresh_statistics"]

_MIN_CHANGED = 50  # autovacuum_analyze_threshold
_GROWTH = 2.0  # re-analyze once the row count doubled or halved
_TABLES = frozenset({"orders", "verdicts"})  # what a tenant's order pages read


def refresh_statistics(connection: Connection, *, table: str, changed: int) -> bool:
    """Analyze `table` on SQLite when its statistics are missing or stale after a write of
    `changed` rows (in the caller's transaction); True when it did."""
    if connection.dialect.name != "sqlite" or changed < _MIN_CHANGED or table not in _TABLES:
        return False
    rows = int(connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())
    known = _analyzed_rows(connection, table)
    if known is not None and known / _GROWTH < rows < known * _GROWTH:
        return False
    _analyze(connection, table)
    return True


def optimize_after_migration(connection: Connection) -> None:
    """SQLite's step after a schema change: `PRAGMA optimize`, and an ANALYZE of the order
    pages' tables when they hold rows but no statistics (a store filled before this rule)."""
    if connection.dialect.name != "sqlite":
        return
    for table in sorted(_TABLES):
        if (
            _analyzed_rows(connection, table) is None
            and connection.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first()
        ):
            _analyze(connection, table)
    connection.exec_driver_sql("PRAGMA optimize")


def _analyzed_rows(connection: Connection, table: str) -> int | None:
    """The row count `table` had when last analyzed; None when never (or no sqlite_stat1)."""
    exists = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if exists is None:
        return None
    stats = connection.exec_driver_sql(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = ?", (table,)
    ).scalars()
    counts = [int(str(s).split()[0]) for s in stats if s and str(s).split()[0].isdigit()]
    return max(counts) if counts else None


def _analyze(connection: Connection, table: str) -> None:
    connection.exec_driver_sql("PRAGMA analysis_limit=0")  # exact (see the module's text)
    connection.exec_driver_sql(f'ANALYZE "{table}"')
