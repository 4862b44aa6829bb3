"""The `rate_slots` table: carriers' shared request slots and block state on PostgreSQL.

`tracking.fetch.limits` keeps every worker of a carrier at its rate (GCRA: one *theoretical
arrival time* per key) and shares carrier blocks; with PostgreSQL as the shared store, these
are its statements, each one round trip on the process's own autocommit connection (psycopg,
not the SQLAlchemy pool: a reservation must not wait for a pooled connection).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from tracking.store.engine import libpq_url

__all__ = ["RateSlots"]

_RESERVE = """
INSERT INTO rate_slots (key, tat)
VALUES (%(key)s, clock_timestamp() + %(interval)s * interval '1 second')
ON CONFLICT (key) DO UPDATE
SET tat = GREATEST(rate_slots.tat, clock_timestamp()) + %(interval)s * interval '1 second'
RETURNING EXTRACT(EPOCH FROM (tat - clock_timestamp()))::float8 - %(interval)s AS wait
"""
_GET = "SELECT tat FROM rate_slots WHERE key = %(key)s"
_LEVEL_UP = """
INSERT INTO rate_slots (key, tat) VALUES (%(key)s, TIMESTAMPTZ 'epoch' + interval '1 second')
ON CONFLICT (key) DO UPDATE SET tat = rate_slots.tat + interval '1 second'
RETURNING EXTRACT(EPOCH FROM tat)::int
"""
_EXTEND = """
INSERT INTO rate_slots (key, tat) VALUES (%(key)s, %(until)s)
ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rate_slots.tat, EXCLUDED.tat)
RETURNING tat
"""
_CLEAR = "DELETE FROM rate_slots WHERE key = ANY(%(keys)s)"


class RateSlots:
    """One process's connection to `rate_slots`, opened lazily in the running event loop."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._connection: Any = None
        self._lock: asyncio.Lock | None = None

    async def _one(self, sql: str, params: dict[str, Any]) -> Any:
        """One statement at a time on the connection; its first row, if any."""
        import psycopg

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    libpq_url(self._url), autocommit=True
                )
            cursor = await self._connection.execute(sql, params)
            return await cursor.fetchone() if cursor.description else None

    async def reserve(self, key: str, interval: float) -> float:
        """Reserve the next slot of `key`, `interval` seconds after the last one; seconds until
        it (negative or 0: now)."""
        row = await self._one(_RESERVE, {"key": key, "interval": interval})
        return float(row[0]) if row else 0.0

    async def get(self, key: str) -> datetime | None:
        """The instant stored under `key` (None when there is none)."""
        row = await self._one(_GET, {"key": key})
        return row[0] if row else None

    async def level_up(self, key: str) -> int:
        """Add one to the count stored under `key` (as seconds after the epoch); the count."""
        row = await self._one(_LEVEL_UP, {"key": key})
        return int(row[0]) if row else 1

    async def extend(self, key: str, until: datetime) -> datetime:
        """Move the instant under `key` to `until` unless it is already later; the instant."""
        row = await self._one(_EXTEND, {"key": key, "until": until})
        return row[0] if row else until

    async def clear(self, keys: list[str]) -> None:
        """Forget `keys`."""
        await self._one(_CLEAR, {"keys": keys})

    async def aclose(self) -> None:
        """Close the connection (if one was opened)."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
